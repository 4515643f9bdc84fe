"""Goal arithmetic: thresholds, deadlines, pauses and outcomes on calendar time and on a business calendar."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicflow.streams.sla import goals as sla_goals
from civicflow.streams.sla import models
from civicflow.streams.sla.calendar import CalendarTime
from civicflow.streams.sla.goals import BREACHED, MET, GoalState
from civicflow.streams.sla.policy import Goal, build_calendar

NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3_600_000
T0 = 1_700_000_000_000
BUSINESS = build_calendar("business", models.CalendarSpec(
    hours={day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")},
    holidays=models.Holidays(country="US", subdivision="NY")), default_zone="America/New_York")


def local(*args) -> int:
    return int(datetime(*args, tzinfo=NEW_YORK).timestamp() * 1000)


def goal(target_ms: int = 8 * HOUR, clock=None, thresholds=(0.5, 0.75, 1.0)) -> Goal:
    return Goal(name="resolve", target_ms=target_ms, clock=clock or CalendarTime(), thresholds=thresholds,
                stops=frozenset({"resolved", "closed"}))


def test_start_plans_the_first_warning_and_the_deadline():
    state = sla_goals.start(goal(), at_ms=T0)
    assert (state.next_due, state.deadline) == (T0 + 4 * HOUR, T0 + 8 * HOUR)
    assert state.running and state.outcome is None and state.fired == 0


def test_fire_walks_the_thresholds_and_the_last_one_breaches():
    g = goal()
    state = sla_goals.start(g, at_ms=T0)
    seen = []
    while state.outcome is None:
        due = state.next_due
        seen.append((sla_goals.fire(g, state), due - T0))
    assert seen == [(0.5, 4 * HOUR), (0.75, 6 * HOUR), (1.0, 8 * HOUR)]
    assert (state.outcome, state.settled_at, state.deadline) == (BREACHED, T0 + 8 * HOUR, T0 + 8 * HOUR)
    assert state.next_due is None and not state.running


def test_thresholds_on_a_business_clock_skip_closed_time():
    g = goal(clock=BUSINESS)
    state = sla_goals.start(g, at_ms=local(2026, 3, 13, 15))  # Friday 15:00
    assert state.next_due == local(2026, 3, 16, 11)   # 4 business hours: Friday 15-17, Monday 9-11
    assert state.deadline == local(2026, 3, 16, 15)
    sla_goals.fire(g, state)
    assert state.next_due == local(2026, 3, 16, 13)


@pytest.mark.parametrize("stop_after, outcome", [(0, MET), (HOUR, MET), (8 * HOUR, MET), (8 * HOUR + 1, BREACHED),
                                                 (30 * HOUR, BREACHED)])
def test_stop_meets_the_goal_until_the_deadline_and_breaches_it_after(stop_after, outcome):
    g = goal()
    state = sla_goals.start(g, at_ms=T0)
    assert sla_goals.stop(g, state, at_ms=T0 + stop_after) == outcome
    assert state.outcome == outcome and state.next_due is None and not state.running
    if outcome == MET:
        assert state.settled_at == T0 + stop_after
    else:
        assert state.settled_at == T0 + 8 * HOUR, "a breach settles at the deadline, not when it was noticed"
        assert state.fired == len(g.thresholds)


def test_stop_after_some_warnings_still_meets_the_goal():
    g = goal()
    state = sla_goals.start(g, at_ms=T0)
    sla_goals.fire(g, state)
    sla_goals.fire(g, state)
    assert sla_goals.stop(g, state, at_ms=T0 + 7 * HOUR) == MET
    assert state.settled_at == T0 + 7 * HOUR


def test_a_pause_shifts_the_deadline_by_the_paused_time():
    g = goal()
    state = sla_goals.start(g, at_ms=T0)
    sla_goals.pause(g, state, at_ms=T0 + HOUR)
    assert not state.running and (state.deadline, state.next_due) == (None, None)
    assert sla_goals.counted(g, state, at_ms=T0 + 50 * HOUR) == HOUR, "nothing counts while paused"
    sla_goals.resume(g, state, at_ms=T0 + 3 * HOUR)
    assert state.running
    assert (state.next_due, state.deadline) == (T0 + 6 * HOUR, T0 + 10 * HOUR)
    assert sla_goals.counted(g, state, at_ms=T0 + 10 * HOUR) == 8 * HOUR


@settings(max_examples=200)
@given(target=st.integers(1, 30 * 24 * HOUR), pause_at=st.floats(0, 1, exclude_max=True),
       length=st.integers(0, 60 * 24 * HOUR))
def test_any_pause_inside_the_target_shifts_deadline_and_next_due_by_its_length(target, pause_at, length):
    g = goal(target)
    state = sla_goals.start(g, at_ms=T0)
    paused = T0 + int(pause_at * target)
    while state.next_due is not None and state.next_due <= paused and state.next_due < state.deadline:
        sla_goals.fire(g, state)  # warnings due before the pause have fired by then
    before = (state.deadline, state.next_due, state.fired)
    sla_goals.pause(g, state, at_ms=paused)
    sla_goals.resume(g, state, at_ms=paused + length)
    assert (state.deadline, state.next_due, state.fired) == (before[0] + length, before[1] + length, before[2])


@settings(max_examples=100, deadline=None)
@given(start=st.integers(local(2026, 1, 1), local(2026, 12, 1)), target_h=st.integers(1, 80),
       pause_at=st.floats(0, 1, exclude_max=True), length=st.integers(0, 10 * 24 * HOUR))
def test_a_business_pause_shifts_the_deadline_by_the_paused_business_time(start, target_h, pause_at, length):
    g = goal(target_h * HOUR, clock=BUSINESS)
    state = sla_goals.start(g, at_ms=start)
    deadline = state.deadline
    paused = start + int(pause_at * (deadline - start))
    sla_goals.pause(g, state, at_ms=paused)
    sla_goals.resume(g, state, at_ms=paused + length)
    assert BUSINESS.between(deadline, state.deadline) == BUSINESS.between(paused, paused + length)
    assert sla_goals.counted(g, state, at_ms=state.deadline) == g.target_ms


def test_a_pause_over_a_weekend_shifts_by_the_business_time_only():
    g = goal(clock=BUSINESS)
    state = sla_goals.start(g, at_ms=local(2026, 3, 12, 13))  # Thursday 13:00: deadline Friday 13:00
    assert state.deadline == local(2026, 3, 13, 13)
    sla_goals.pause(g, state, at_ms=local(2026, 3, 12, 17))    # Thursday at closing
    sla_goals.resume(g, state, at_ms=local(2026, 3, 13, 9))    # Friday at opening: no business time paused
    assert state.deadline == local(2026, 3, 13, 13)
    sla_goals.pause(g, state, at_ms=local(2026, 3, 13, 12))    # Friday noon, one business hour left
    sla_goals.resume(g, state, at_ms=local(2026, 3, 16, 10))   # Monday 10:00: 6 business hours paused
    assert state.deadline == local(2026, 3, 16, 11)
    assert state.next_due == local(2026, 3, 16, 10), "both warnings had passed unfired: the next falls due at once"


def test_stop_while_paused():
    g = goal()
    state = sla_goals.start(g, at_ms=T0)
    sla_goals.pause(g, state, at_ms=T0 + 7 * HOUR)
    assert sla_goals.stop(g, state, at_ms=T0 + 100 * HOUR) == MET, "paused time does not count"
    assert state.settled_at == T0 + 100 * HOUR
    sla_goals.resume(g, state, at_ms=T0 + 101 * HOUR)
    assert state.outcome == MET and not state.running and state.next_due is None


def test_pause_and_resume_are_idempotent():
    g = goal()
    state = sla_goals.start(g, at_ms=T0)
    sla_goals.resume(g, state, at_ms=T0 + HOUR)  # not paused: nothing changes
    assert state.deadline == T0 + 8 * HOUR
    sla_goals.pause(g, state, at_ms=T0 + HOUR)
    sla_goals.pause(g, state, at_ms=T0 + 2 * HOUR)  # already paused: the first pause counts
    sla_goals.resume(g, state, at_ms=T0 + 3 * HOUR)
    assert state.deadline == T0 + 10 * HOUR


@pytest.mark.parametrize("settle", ["met", "breached by stop", "breached by timer"])
def test_fire_and_stop_after_settled_change_nothing(settle):
    g = goal()
    state = sla_goals.start(g, at_ms=T0)
    if settle == "met":
        sla_goals.stop(g, state, at_ms=T0 + HOUR)
    elif settle == "breached by stop":
        sla_goals.stop(g, state, at_ms=T0 + 9 * HOUR)
    else:
        while state.outcome is None:
            sla_goals.fire(g, state)
    settled = state.as_list()
    assert sla_goals.stop(g, state, at_ms=T0 + 20 * HOUR) is None
    assert sla_goals.fire(g, state) is None
    sla_goals.pause(g, state, at_ms=T0 + 21 * HOUR)
    sla_goals.resume(g, state, at_ms=T0 + 22 * HOUR)
    assert state.as_list() == settled


def test_fire_while_paused_changes_nothing():
    g = goal()
    state = sla_goals.start(g, at_ms=T0)
    sla_goals.pause(g, state, at_ms=T0 + HOUR)
    paused = state.as_list()
    assert sla_goals.fire(g, state) is None
    assert state.as_list() == paused


@pytest.mark.parametrize("values", [
    [T0, 0, 0, None, None, T0 + 8 * HOUR, T0 + 4 * HOUR],
    [None, 5 * HOUR, 2, None, None, None, None],
    [T0, HOUR, 3, BREACHED, T0 + 7 * HOUR, T0 + 7 * HOUR, None],
])
def test_as_list_and_from_list_round_trip(values):
    state = GoalState.from_list(values)
    assert state.as_list() == values
    assert GoalState.from_list(state.as_list()).as_list() == values
    assert (state.segment_start, state.consumed, state.fired, state.next_due) == (values[0], values[1], values[2],
                                                                                 values[6])


def test_a_running_goal_survives_a_round_trip():
    g = goal()
    state = sla_goals.start(g, at_ms=T0)
    sla_goals.fire(g, state)
    copy = GoalState.from_list(state.as_list())
    assert sla_goals.fire(g, copy) == 0.75 and copy.next_due == T0 + 8 * HOUR
