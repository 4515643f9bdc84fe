"""SLA policies: the shipped NYC sla.yaml loads and picks the first matching policy; a broken sla.yaml is
reported with file and place; a jurisdiction without sla.yaml has no goals."""


import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.jurisdiction.conditions import Facts
from civicflow.streams.settings import Settings
from civicflow.streams.sla import goals as sla_goals
from civicflow.streams.sla import policy as sla_policy
from civicflow.streams.sla.calendar import BusinessCalendar, CalendarTime
from civicflow.streams.sla.policy import NO_SLA
from tests.streams.conftest import assert_reported, edit, problems_of

HOUR = 3_600_000
DAY = 24 * HOUR
NYC = Settings().jurisdictions_dir / "nyc"


@pytest.fixture(scope="module")
def nyc():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)["nyc"]


def facts(nyc, service_code: str, priority: str | None = "normal") -> Facts:
    service = nyc.services.get(service_code)
    return Facts(service_code=service_code, service_group=service.group if service else None, attributes={},
                 description=None, districts={"borough": "Brooklyn"}, priority=priority)


def targets(goals) -> dict[str, tuple[int, str]]:
    return {g.name: (g.target_ms, g.clock.name) for g in goals}


# ---- the shipped file -----------------------------------------------------------------------------------------

def test_police_noise_is_acknowledged_within_an_hour_and_resolved_within_eight(nyc):
    name, goals = nyc.sla.goals_for(facts(nyc, "noise-residential"))
    assert name == "police-quality-of-life"
    assert targets(goals) == {"acknowledge": (HOUR, "calendar"), "resolve": (8 * HOUR, "calendar")}
    acknowledge = goals[0]
    assert isinstance(acknowledge.clock, CalendarTime)
    assert acknowledge.thresholds == (0.5, 0.75, 1.0)
    assert "acknowledged" in acknowledge.stops and "resolved" in acknowledge.stops
    assert goals[1].stops == {"resolved", "closed"}


def test_the_first_matching_policy_wins(nyc):
    name, _ = nyc.sla.goals_for(facts(nyc, "noise-residential", priority="urgent"))
    assert name == "police-quality-of-life", "police-quality-of-life is listed before urgent"


def test_an_urgent_non_police_request_gets_the_urgent_policy(nyc):
    name, goals = nyc.sla.goals_for(facts(nyc, "street-sign-missing", priority="urgent"))
    assert name == "urgent"
    assert targets(goals) == {"acknowledge": (2 * HOUR, "calendar"), "resolve": (2 * DAY, "calendar")}


def test_a_service_policy_counts_acknowledgement_in_business_hours(nyc):
    name, goals = nyc.sla.goals_for(facts(nyc, "street-sign-missing"))
    assert name == "street-signs"
    assert targets(goals) == {"acknowledge": (8 * HOUR, "business"), "resolve": (14 * DAY, "calendar")}
    business = goals[0].clock
    assert isinstance(business, BusinessCalendar) and business.zone.key == "America/New_York"


def test_an_unknown_service_gets_the_default_policy(nyc):
    name, goals = nyc.sla.goals_for(facts(nyc, "no-such-service"))
    assert name == "default"
    assert targets(goals) == {"acknowledge": (8 * HOUR, "business"), "resolve": (5 * DAY, "calendar")}


def test_policies_by_name_and_pause_statuses(nyc):
    assert nyc.sla.goals_named("urgent") == nyc.sla.goals_for(facts(nyc, "mold", priority="urgent"))[1]
    assert nyc.sla.goals_named("no-longer-there") == ()
    assert nyc.sla.pause_statuses == {"on_hold"}


# ---- broken files -----------------------------------------------------------------------------------------


def policy(data, name: str) -> dict:
    return next(p for p in data["policies"] if p["name"] == name)


def test_every_sla_problem_is_reported_with_its_place(nyc_copy):
    def break_sla(data):
        data["pause_statuses"] = ["on_hold", "waiting"]
        business = data["calendars"]["business"]
        business["hours"]["sat"] = "17:00-09:00"
        business["holidays"]["country"] = "XX"
        policy(data, "urgent")["goals"]["resolve"]["clock"] = "office-hours"
        policy(data, "trees")["goals"]["inspect"] = {"target": "PT4H"}
        policy(data, "parks")["goals"]["resolve"]["warnings"] = [0.8, 0.5]
        policy(data, "taxis")["when"]["service_code"].append("taxi-complaint-typo")

    edit(nyc_copy / "sla.yaml", break_sla)

    problems = problems_of(nyc_copy)

    expected = [
        "sla.yaml: pause_statuses: 'waiting' is not a status",
        "sla.yaml: calendars.business: hours.sat: 17:00 is not before 09:00",
        "sla.yaml: calendars.business: holidays: no public holidays known for XX/NY",
        "sla.yaml: urgent.resolve: clock 'office-hours' is neither 'calendar' nor a calendar of this file",
        "sla.yaml: trees.inspect: a goal other than acknowledge, resolve lists its stop statuses",
        "sla.yaml: parks.resolve: warnings are increasing fractions between 0 and 1",
        "sla.yaml: taxis: when.service_code: 'taxi-complaint-typo' is unknown",
    ]
    assert_reported(problems, expected)


# Where the catch-all policy sits in NYC's sla.yaml (drafted policies come before it).
_DEFAULT_AT = [p["name"] for p in yaml.safe_load((Settings().jurisdictions_dir / "nyc" / "sla.yaml").read_text(
    encoding="utf-8"))["policies"]].index("default")


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.update(warnings=[0.8, 0.5]), "sla.yaml: warnings: Value error, warnings are increasing fractions"),
    (lambda d: d.update(warnings=[0.5, 1.0]), "sla.yaml: warnings: Value error, warnings are increasing fractions"),
    (lambda d: policy(d, "default")["goals"]["resolve"].update(target="PT0S"),
     f"sla.yaml: policies.{_DEFAULT_AT}.goals.resolve.target: Input should be greater than 0"),
    (lambda d: d["calendars"]["business"]["hours"].update(funday="09:00-17:00"),
     "sla.yaml: calendars.business.hours: Value error, 'funday' is not one of mon"),
    (lambda d: d["calendars"]["business"]["hours"].update(mon="9-5"),
     "sla.yaml: calendars.business.hours: Value error, mon: '9-5' is not like '09:00-17:00'"),
    (lambda d: d["calendars"]["business"].update(time_zone="America/Gotham"),
     "sla.yaml: calendars.business: time_zone: 'America/Gotham' is not an IANA time zone"),
    (lambda d: policy(d, "trees")["goals"].update(inspect={"target": "PT4H", "stop": ["in_progress", "fixed"]}),
     "sla.yaml: trees.inspect: stop: 'fixed' is not a status"),
    (lambda d: d.update(policies=[]), "sla.yaml: policies: List should have at least 1 item"),
], ids=["file-warnings-order", "file-warnings-one", "zero-target", "unknown-day", "bad-hours", "time-zone",
        "unknown-stop", "no-policies"])
def test_one_sla_problem(nyc_copy, change, expected):
    edit(nyc_copy / "sla.yaml", change)
    problems = problems_of(nyc_copy)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize("hours, expected", [
    ("25:00-26:00", "hours.mon: '25:00-26:00'"),
    ("09:60-17:00", "hours.mon: '09:60-17:00'"),
    ("13:00-17:00, 09:00-12:00", "hours.mon: 09:00 opens before"),
    ("09:00-13:00, 12:00-17:00", "hours.mon: 12:00 opens before"),
    ("09:00-24:00, 10:00-11:00", "hours.mon: 10:00 opens before"),
], ids=["hour-out-of-range", "minute-out-of-range", "out-of-order", "overlapping", "after-midnight-close"])
def test_impossible_or_overlapping_opening_hours_are_reported(nyc_copy, hours, expected):
    edit(nyc_copy / "sla.yaml", lambda d: d["calendars"]["business"]["hours"].update(mon=hours))
    problems = problems_of(nyc_copy)
    assert len(problems) == 1 and problems[0].startswith(f"sla.yaml: calendars.business: {expected}"), problems


@pytest.mark.parametrize("hours", ["00:00-24:00", "00:00-00:00", "08:00-12:00, 13:00-17:00",
                                   "08:00-12:00, 12:00-24:00"])
def test_valid_opening_hours_load(nyc_copy, hours):
    edit(nyc_copy / "sla.yaml", lambda d: d["calendars"]["business"]["hours"].update(mon=hours))
    assert jurisdiction_loader.load_jurisdiction(nyc_copy).sla.goals_named("default")


def test_a_jurisdiction_without_sla_yaml_has_no_goals(nyc_copy):
    (nyc_copy / "sla.yaml").unlink()
    jurisdiction = jurisdiction_loader.load_jurisdictions(nyc_copy.parent)["nyc"]
    assert jurisdiction.sla is NO_SLA
    assert jurisdiction.sla.goals_for(facts(jurisdiction, "noise-residential")) == ("none", ())
    assert jurisdiction.sla.goals_named("default") == ()


# ---- the expected resolve time ----------------------------------------------------------------------------------

def test_the_expected_resolve_time_is_the_resolve_goals_deadline_from_submission(nyc):
    _, goals = nyc.sla.goals_for(facts(nyc, "noise-residential"))
    by_name = {g.name: g for g in goals}
    start = 1_700_000_000_000
    assert sla_policy.expected_resolve_ms(by_name, submitted_ms=start, due_in_ms=None) == start + 8 * HOUR


def test_a_due_date_is_the_resolve_goal_on_calendar_time_with_or_without_a_policy(nyc):
    _, goals = nyc.sla.goals_for(facts(nyc, "noise-residential"))
    by_name = {g.name: g for g in goals}
    start = 1_700_000_000_000
    assert sla_policy.expected_resolve_ms(by_name, submitted_ms=start, due_in_ms=3 * DAY) == start + 3 * DAY
    assert sla_policy.expected_resolve_ms({}, submitted_ms=start, due_in_ms=3 * DAY) == start + 3 * DAY
    assert sla_policy.expected_resolve_ms({}, submitted_ms=start, due_in_ms=None) is None
    kept = sla_policy.with_due_date(by_name, due_in_ms=3 * DAY)
    assert kept["acknowledge"] is by_name["acknowledge"]
    assert kept["resolve"].thresholds == by_name["resolve"].thresholds and kept["resolve"].clock.name == "calendar"


@settings(max_examples=200, deadline=None)
@given(start=st.integers(1_600_000_000_000, 1_900_000_000_000), due=st.none() | st.integers(1, 400 * DAY),
       service=st.sampled_from(["noise-residential", "graffiti", "missed-collection", "street-light-condition",
                              "sewer", "no-such-service"]))
def test_the_expected_time_is_the_deadline_the_lifecycle_starts_counting_to(nyc, start, due, service):
    _, goals = nyc.sla.goals_for(facts(nyc, service))
    by_name = sla_policy.with_due_date({g.name: g for g in goals}, due_in_ms=due)
    expected = sla_policy.expected_resolve_ms({g.name: g for g in goals}, submitted_ms=start, due_in_ms=due)
    if "resolve" not in by_name:
        assert expected is None
        return
    state = sla_goals.start(by_name["resolve"], at_ms=start)
    assert expected == state.deadline
