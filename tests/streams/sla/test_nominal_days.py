"""Nominal days: a target's weeks and days (P7D, P1W, the P1D of P1DT12H) are local calendar days of the
jurisdiction on the calendar clock, its hours and minutes exact time. Properties around every DST change of
2024-2030 in zones of both hemispheres (and one without DST), the New York EST -> EDT example, goals that pause,
business calendars (unchanged), and state stored before nominal days."""

import dataclasses
import json
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.lifecycle.models import RequestState
from civicflow.streams.settings import Settings
from civicflow.streams.sla import goals as sla_goals
from civicflow.streams.sla import models
from civicflow.streams.sla.calendar import CalendarTime, add_local_days
from civicflow.streams.sla.goals import BREACHED, MET, GoalState
from civicflow.streams.sla.policy import Goal, build_calendar, compile_sla

SECOND, MINUTE, HOUR = 1000, 60_000, 3_600_000
DAY = 24 * HOUR
NEW_YORK = ZoneInfo("America/New_York")
DST_ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Santiago", "Pacific/Auckland")
NO_DST_ZONE = "Asia/Tokyo"
prop = settings(max_examples=300, deadline=None)


# ---- helpers -----------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def compiled(target: str, zone: str = "America/New_York", clock: str = "calendar") -> Goal:
    """The resolve goal of a one-policy sla.yaml in a jurisdiction of that time zone."""
    spec = models.SlaFile.model_validate({
        "calendars": {"business": {"hours": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
                                   "holidays": {"country": "US", "subdivision": "NY"}}},
        "policies": [{"name": "all", "goals": {"resolve": {"target": target, "clock": clock}}}]})
    [goal] = compile_sla(spec, time_zone=zone).goals_named("all")
    return goal


def ms(moment: datetime) -> int:
    return int(moment.timestamp()) * SECOND + moment.microsecond // 1000


def local(at_ms: int, zone: ZoneInfo) -> datetime:
    """The aware local time of an instant, to the millisecond, fold set as zoneinfo sets it."""
    return datetime.fromtimestamp(at_ms // SECOND, tz=zone).replace(microsecond=at_ms % SECOND * 1000)


def ny(*args) -> int:
    return ms(datetime(*args, tzinfo=NEW_YORK))


def transitions(zone: ZoneInfo, first_year: int = 2024, last_year: int = 2030) -> list[int]:
    """Instants (ms) at which the zone's UTC offset changes, found by day steps and bisection."""
    def offset(seconds):
        return datetime.fromtimestamp(seconds, tz=zone).utcoffset()

    found = []
    t = int(datetime(first_year, 1, 1, tzinfo=timezone.utc).timestamp())
    end = int(datetime(last_year + 1, 1, 1, tzinfo=timezone.utc).timestamp())
    before = offset(t)
    while t < end:
        after = offset(t + 86_400)
        if after != before:
            lo, hi = t, t + 86_400
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == before else (lo, mid)
            found.append(hi * SECOND)
            before = after
        t += 86_400
    return found


TRANSITIONS = {name: transitions(ZoneInfo(name)) for name in DST_ZONES}
# Tokyo has none: its starts are taken around New York's changes.
ANCHORS = [(name, t) for name in DST_ZONES for t in TRANSITIONS[name]] + \
          [(NO_DST_ZONE, t) for t in TRANSITIONS["America/New_York"]]


@st.composite
def starts_around_a_change(draw, max_days=45):
    """(zone name, start ms, n days): starts from n + 2 days before a change of offset to 2 days after it, so
    that the change falls before the start, inside the n days, or just after the deadline."""
    zone, change = draw(st.sampled_from(ANCHORS))
    days = draw(st.integers(1, max_days))
    start = change + draw(st.integers(-(days + 2) * DAY, 2 * DAY))
    return zone, start, days


def wall(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def instants_of(wall_time: datetime, zone: ZoneInfo) -> tuple[int, int]:
    """The instants fold=0 and fold=1 give a wall time (equal for an ordinary one)."""
    return tuple(ms(wall_time.replace(tzinfo=zone, fold=fold)) for fold in (0, 1))


def exists(wall_time: datetime, zone: ZoneInfo) -> bool:
    return wall(local(instants_of(wall_time, zone)[0], zone)) == wall_time


def test_every_zone_with_dst_changes_twice_a_year():
    for name, found in TRANSITIONS.items():
        assert len(found) == 2 * 7, (name, len(found))
    assert transitions(ZoneInfo(NO_DST_ZONE)) == []


# ---- parsing ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, target, days", [
    ("P7D", timedelta(days=7), 7), ("P1W", timedelta(days=7), 7), ("P2W3D", timedelta(days=17), 17),
    ("P1DT12H", timedelta(days=1, hours=12), 1), ("PT36H", timedelta(hours=36), 0),
    ("PT8H", timedelta(hours=8), 0), ("PT90M", timedelta(minutes=90), 0),
    ("P1.5D", timedelta(days=1, hours=12), 1), ("P0DT1H", timedelta(hours=1), 0),
    ("P1M", timedelta(days=30), 0), ("P1Y2M3D", timedelta(days=365 + 60 + 3), 3),
    (3600, timedelta(hours=1), 0), ("1 day, 2:00:00", timedelta(days=1, hours=2), 0),
])
def test_weeks_and_days_of_the_iso_text_are_nominal_the_rest_exact(text, target, days):
    spec = models.GoalSpec(target=text)
    assert (spec.target, spec.target_days) == (target, days), "target stays the exact total, 24 h a day"
    goal = compiled(text) if isinstance(text, str) else None
    if goal is not None:
        assert (goal.target_ms, goal.target_days) == (target // timedelta(milliseconds=1), days)


def test_a_zero_target_is_still_refused_with_the_same_message():
    with pytest.raises(ValueError, match="Input should be greater than 0"):
        models.GoalSpec(target="P0D")


def test_the_shipped_new_york_file_has_nominal_days_on_the_calendar_clock_only():
    nyc = jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)["nyc"]
    acknowledge, resolve = nyc.sla.goals_named("street-signs")
    assert (acknowledge.target_ms, acknowledge.target_days, acknowledge.clock.name) == (8 * HOUR, 0, "business")
    assert (resolve.target_ms, resolve.target_days) == (14 * DAY, 14)
    assert isinstance(resolve.clock, CalendarTime) and resolve.clock.zone.key == "America/New_York"
    # created 06:05 EST the Monday before the spring change: due two weeks later at 06:05 EDT
    assert local(resolve.deadline_from(ny(2026, 3, 2, 6, 5)), NEW_YORK) == datetime(2026, 3, 16, 6, 5,
                                                                                      tzinfo=NEW_YORK)


# ---- the New York example -------------------------------------------------------------------------------------

def test_seven_days_from_est_end_at_the_same_wall_time_in_edt():
    goal = compiled("P7D")
    created = ny(2026, 3, 2, 6, 5)                       # Monday 06:05 EST; the clocks spring forward on Sunday 8th
    due = goal.deadline_from(created)
    assert local(due, NEW_YORK) == datetime(2026, 3, 9, 6, 5, tzinfo=NEW_YORK)
    assert local(due, NEW_YORK).tzname() == "EDT"
    assert due - created == 7 * 24 * HOUR - HOUR
    state = sla_goals.start(goal, at_ms=created)
    assert state.deadline == due and state.drift == -HOUR


def test_seven_days_from_edt_end_at_the_same_wall_time_in_est():
    goal = compiled("P7D")
    created = ny(2026, 10, 30, 6, 5)                     # Friday 06:05 EDT; the clocks fall back on Sunday 1st
    due = goal.deadline_from(created)
    assert local(due, NEW_YORK) == datetime(2026, 11, 6, 6, 5, tzinfo=NEW_YORK)
    assert local(due, NEW_YORK).tzname() == "EST" and due - created == 7 * 24 * HOUR + HOUR


def test_hours_stay_exact_across_the_same_change():
    created = ny(2026, 3, 2, 6, 5)
    assert compiled("PT168H").deadline_from(created) - created == 168 * HOUR
    assert local(compiled("PT168H").deadline_from(created), NEW_YORK) == datetime(2026, 3, 9, 7, 5,
                                                                                  tzinfo=NEW_YORK)


def test_a_day_and_twelve_hours_is_the_next_day_s_wall_time_then_twelve_exact_hours():
    created = ny(2026, 3, 7, 6, 5)                       # Saturday 06:05 EST: the next day has 23 hours
    due = compiled("P1DT12H").deadline_from(created)
    assert local(due, NEW_YORK) == datetime(2026, 3, 8, 18, 5, tzinfo=NEW_YORK)
    assert due - created == 35 * HOUR


@pytest.mark.parametrize("created, due", [
    ((2026, 3, 7, 2, 30), (2026, 3, 8, 3, 30)),          # 02:30 does not exist on the 8th: the gap moves it on
    ((2026, 10, 31, 1, 30), (2026, 11, 1, 1, 30)),       # 01:30 happens twice on the 1st: the first one, EDT
])
def test_a_wall_time_the_due_day_lacks_or_repeats_resolves_as_fold_0(created, due):
    deadline = compiled("P1D").deadline_from(ny(*created))
    assert local(deadline, NEW_YORK) == datetime(*due, tzinfo=NEW_YORK)
    assert local(deadline, NEW_YORK).tzname() == "EDT"


def test_thresholds_and_outcome_follow_the_resolved_length():
    goal = compiled("P7D")
    created = ny(2026, 3, 2, 6, 5)
    state = sla_goals.start(goal, at_ms=created)
    assert state.next_due == created + 167 * HOUR // 2, "50 % of the 167 hours this week has"
    sla_goals.fire(goal, state)
    assert state.next_due == created + 167 * HOUR * 3 // 4
    met = sla_goals.start(goal, at_ms=created)
    assert sla_goals.stop(goal, met, at_ms=met.deadline) == MET
    late = sla_goals.start(goal, at_ms=created)
    assert sla_goals.stop(goal, late, at_ms=late.deadline + 1) == BREACHED
    assert late.settled_at == late.deadline == ny(2026, 3, 9, 6, 5)


# ---- properties around every change of offset ----------------------------------------------------------------

@prop
@given(case=starts_around_a_change())
def test_n_days_keep_the_wall_time_and_end_n_local_days_later(case):
    name, start, days = case
    zone = ZoneInfo(name)
    due = compiled(f"P{days}D", name).deadline_from(start)
    began, ended = local(start, zone), local(due, zone)
    assert ended.date() == began.date() + timedelta(days=days)
    wanted = wall(began) + timedelta(days=days)
    earlier, later = sorted(instants_of(wanted, zone))
    if exists(wanted, zone):
        assert wall(ended) == wanted
        assert due == earlier, "a repeated wall time is its first instant"
        assert due - start == days * DAY - (ended.utcoffset() - began.utcoffset()) // timedelta(milliseconds=1)
    else:
        assert due == later, "a missing wall time moves forward by the gap"
        assert wall(ended) - wanted == timedelta(milliseconds=later - earlier)
    if name == NO_DST_ZONE:
        assert due - start == days * DAY


@prop
@given(change=st.sampled_from([(name, t) for name, t in ANCHORS if name != NO_DST_ZONE]),
       days=st.integers(1, 45), fold=st.integers(0, 1), data=st.data())
def test_wall_times_in_a_gap_or_an_overlap_of_the_due_day(change, days, fold, data):
    """Starts whose wall time the due day lacks (spring-forward) or has twice (fall-back)."""
    name, change = change
    zone = ZoneInfo(name)
    before, after = wall(local(change - 1, zone)) + timedelta(milliseconds=1), wall(local(change, zone))
    first, last = sorted((before, after))                        # the missing or the repeated wall times
    span = (last - first) // timedelta(milliseconds=1)
    wanted = first + timedelta(milliseconds=data.draw(st.integers(0, span - 1)))
    start = ms((wanted - timedelta(days=days)).replace(tzinfo=zone, fold=fold))
    assume(wall(local(start, zone)) == wanted - timedelta(days=days))
    due = compiled(f"P{days}D", name).deadline_from(start)
    earlier, later = sorted(instants_of(wanted, zone))
    assert earlier != later
    if after > before:                                           # a gap: the wall time does not exist
        assert not exists(wanted, zone)
        assert (due, wall(local(due, zone))) == (later, wanted + timedelta(milliseconds=later - earlier))
    else:                                                        # an overlap: the first of its two instants
        assert (due, wall(local(due, zone))) == (earlier, wanted)
    assert local(due, zone).date() == wanted.date()


@prop
@given(case=starts_around_a_change(), hours=st.integers(1, 24 * 45), minutes=st.integers(1, 600))
def test_hours_and_minutes_are_always_exact(case, hours, minutes):
    name, start, _ = case
    assert compiled(f"PT{hours}H", name).deadline_from(start) - start == hours * HOUR
    assert compiled(f"PT{minutes}M", name).deadline_from(start) - start == minutes * MINUTE


@prop
@given(case=starts_around_a_change(max_days=10), hours=st.integers(0, 23))
def test_weeks_are_seven_days_and_the_time_part_is_added_exactly_after_the_days(case, hours):
    name, start, days = case
    assert compiled(f"P{days}W", name).deadline_from(start) == compiled(f"P{7 * days}D", name).deadline_from(start)
    combined = compiled(f"P{days}DT{hours}H", name) if hours else compiled(f"P{days}D", name)
    assert combined.deadline_from(start) == compiled(f"P{days}D", name).deadline_from(start) + hours * HOUR


@prop
@given(case=starts_around_a_change(), zone_less_target=st.integers(1, 60 * DAY))
def test_a_running_goal_is_due_at_deadline_from_and_met_exactly_until_then(case, zone_less_target):
    name, start, days = case
    goal = compiled(f"P{days}D", name)
    state = sla_goals.start(goal, at_ms=start)
    assert state.deadline == goal.deadline_from(start)
    assert sla_goals.length(goal, state) == state.deadline - start
    assert sla_goals.stop(goal, sla_goals.start(goal, at_ms=start), at_ms=state.deadline) == MET
    assert sla_goals.stop(goal, sla_goals.start(goal, at_ms=start), at_ms=state.deadline + 1) == BREACHED
    # The lifecycle's explicit due date: the policy's goal with an exact target on zone-less calendar time.
    explicit = dataclasses.replace(goal, target_ms=zone_less_target, clock=CalendarTime())
    assert sla_goals.start(explicit, at_ms=start).deadline == start + zone_less_target


@prop
@given(case=starts_around_a_change(max_days=20), pause_at=st.floats(0, 1, exclude_min=True, exclude_max=True),
       length=st.integers(0, 30 * DAY))
def test_a_pause_moves_the_deadline_by_exactly_the_paused_time(case, pause_at, length):
    name, start, days = case
    goal = compiled(f"P{days}D", name)
    state = sla_goals.start(goal, at_ms=start)
    paused = start + max(1, int(pause_at * (state.deadline - start)))
    while state.next_due is not None and state.next_due <= paused and state.next_due < state.deadline:
        sla_goals.fire(goal, state)
    before = (state.deadline, state.next_due, state.drift)
    sla_goals.pause(goal, state, at_ms=paused)
    sla_goals.resume(goal, state, at_ms=paused + length)
    assert (state.deadline, state.next_due, state.drift) == (before[0] + length, before[1] + length, before[2])
    assert sla_goals.counted(goal, state, at_ms=state.deadline) == sla_goals.length(goal, state)


# ---- pauses, in New York ---------------------------------------------------------------------------------------

def test_a_day_on_hold_before_the_change_moves_the_due_day_by_a_day():
    goal = compiled("P7D")
    state = sla_goals.start(goal, at_ms=ny(2026, 3, 2, 6, 5))
    sla_goals.pause(goal, state, at_ms=ny(2026, 3, 3, 6, 5))
    assert sla_goals.stop(goal, GoalState.from_list(state.as_list()), at_ms=ny(2026, 4, 1)) == MET
    sla_goals.resume(goal, state, at_ms=ny(2026, 3, 4, 6, 5))
    assert local(state.deadline, NEW_YORK) == datetime(2026, 3, 10, 6, 5, tzinfo=NEW_YORK)


def test_a_pause_across_the_change_moves_the_deadline_by_its_exact_length():
    goal = compiled("P7D")
    state = sla_goals.start(goal, at_ms=ny(2026, 2, 27, 6, 5))   # due Friday 6 March 06:05 EST: no change inside
    sla_goals.pause(goal, state, at_ms=ny(2026, 2, 28, 6, 5))
    sla_goals.resume(goal, state, at_ms=ny(2026, 3, 7, 6, 5))      # 168 hours on hold
    assert state.deadline == ny(2026, 3, 6, 6, 5) + 168 * HOUR
    assert local(state.deadline, NEW_YORK) == datetime(2026, 3, 13, 7, 5, tzinfo=NEW_YORK)


def test_a_goal_that_starts_paused_counts_its_days_from_when_it_resumes():
    goal = compiled("P7D")
    state = sla_goals.start(goal, at_ms=ny(2026, 2, 27, 6, 5))   # its week would not span the change
    sla_goals.pause(goal, state, at_ms=ny(2026, 2, 27, 6, 5))    # on hold from the start: nothing counted
    sla_goals.resume(goal, state, at_ms=ny(2026, 3, 2, 6, 5))    # its week now spans it
    assert state.deadline == goal.deadline_from(ny(2026, 3, 2, 6, 5)) == ny(2026, 3, 9, 6, 5)
    assert state.drift == -HOUR


# ---- business calendars keep their meaning --------------------------------------------------------------------

def test_a_day_on_a_business_calendar_is_still_24_hours_of_opening_time():
    business = build_calendar("business", models.CalendarSpec(
        hours={d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}), default_zone="America/New_York")
    goal = compiled("P1D", clock="business")
    assert goal.target_days == 1 and goal.drift_from(ny(2026, 3, 6, 12)) == 0
    # Friday noon before the spring change: 5 h Friday, 8 h Monday, Tuesday and 3 h Wednesday
    due = goal.deadline_from(ny(2026, 3, 6, 12))
    assert due == ny(2026, 3, 11, 12) == business.add(ny(2026, 3, 6, 12), 24 * HOUR)
    assert compiled("PT24H", clock="business").deadline_from(ny(2026, 3, 6, 12)) == due


def test_calendar_time_without_a_zone_counts_days_as_24_hours():
    clock = CalendarTime()
    assert clock.day_drift(ny(2026, 3, 2, 6, 5), 7) == 0
    assert add_local_days(ny(2026, 3, 2, 6, 5), 7, ZoneInfo("UTC")) == ny(2026, 3, 2, 6, 5) + 7 * DAY


def test_milliseconds_of_the_start_are_kept():
    start = ny(2026, 3, 2, 6, 5) + 987
    assert compiled("P7D").deadline_from(start) == ny(2026, 3, 9, 6, 5) + 987


# ---- stored state ------------------------------------------------------------------------------------------------

def test_a_goal_without_drift_stores_the_seven_values_it_always_did():
    state = sla_goals.start(compiled("P7D"), at_ms=ny(2026, 5, 4, 6, 5))
    assert state.drift == 0 and len(state.as_list()) == 7


def test_the_drift_is_stored_as_an_eighth_value_and_survives_the_changelog():
    goal = compiled("P7D")
    state = sla_goals.start(goal, at_ms=ny(2026, 3, 2, 6, 5))
    sla_goals.pause(goal, state, at_ms=ny(2026, 3, 3, 6, 5))
    assert state.as_list()[7:] == [-HOUR]
    request = RequestState(partition=0, jurisdiction_id="nyc", status="on_hold", cycle=0, goals={"resolve": state})
    recovered = RequestState.from_list(orjson.loads(orjson.dumps(request.as_list()))).goals["resolve"]
    assert recovered.as_list() == state.as_list()
    sla_goals.resume(goal, recovered, at_ms=ny(2026, 3, 4, 6, 5))
    assert local(recovered.deadline, NEW_YORK) == datetime(2026, 3, 10, 6, 5, tzinfo=NEW_YORK)


def test_a_goal_stored_before_nominal_days_keeps_the_exact_target_it_was_planned_with():
    goal = compiled("P7D")
    start = ny(2026, 3, 2, 6, 5)
    stored = json.loads(json.dumps([start, 0, 0, None, None, start + 168 * HOUR, start + 84 * HOUR]))
    state = GoalState.from_list(stored)
    assert state.drift == 0 and state.as_list() == stored
    assert sla_goals.fire(goal, state) == 0.5
    assert (state.deadline, state.next_due) == (start + 168 * HOUR, start + 126 * HOUR)
    assert sla_goals.stop(goal, state, at_ms=start + 168 * HOUR) == MET


def test_a_reader_that_knows_seven_values_ignores_the_eighth():
    values = sla_goals.start(compiled("P7D"), at_ms=ny(2026, 3, 2, 6, 5)).as_list()
    names = GoalState.__slots__[:7]
    assert dict(zip(names, values)) == dict(zip(names, values[:7]))


# ---- the API's estimate ------------------------------------------------------------------------------------------

def test_the_api_estimate_of_an_unrouted_request_uses_the_same_deadline():
    from civicflow.services.api import submissions

    nyc = jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)["nyc"]
    submitted = datetime(2026, 3, 2, 6, 5, tzinfo=NEW_YORK)
    row = {"request_id": "r-1", "expected_at": None, "open311_status": "open", "duplicate_of": None,
           "service_code": "street-sign-missing", "service_group": None, "districts": "{}", "priority": "normal"}
    record = {"attributes": {}, "description": None, "submitted_at": submitted}
    expected = submissions.expected_at(row, record=record, jurisdiction=nyc)
    assert expected == datetime(2026, 3, 16, 6, 5, tzinfo=NEW_YORK)
    assert expected - submitted.astimezone(timezone.utc) == timedelta(days=14, hours=-1)
    assert date(2026, 3, 8) < expected.date()
