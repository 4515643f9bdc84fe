"""A jurisdiction's SLA policies compiled for per-request use: calendars built, conditions compiled."""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from civicflow.streams.jurisdiction.conditions import Facts, Matcher
from civicflow.streams.sla import calendar as sla_calendar
from civicflow.streams.sla import models

DEFAULT_STOPS = {
    "acknowledge": frozenset({"acknowledged", "in_progress", "on_hold", "resolved", "closed"}),
    "resolve": frozenset({"resolved", "closed"}),
}
RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class Goal:
    """A goal ready to run: target in milliseconds, its clock, thresholds (warnings, then 1.0), stop statuses.

    target_ms is the whole target as exact time, 24 hours a day; target_days of those days are nominal (the
    P7D of sla.yaml), so how long the target really lasts depends on where it starts: see `length_from`.
    """

    name: str
    target_ms: int
    clock: object
    thresholds: tuple[float, ...]
    stops: frozenset[str]
    target_days: int = 0

    def drift_from(self, start_ms: int) -> int:
        """Milliseconds the clock's local calendar adds to the target counted from start_ms (-1 h when its
        nominal days span a spring-forward; 0 for exact targets, on business calendars and on the zone-less
        CalendarTime, so a copy with another target_ms on that clock, like an explicit due date, is exact)."""
        return self.clock.day_drift(start_ms, self.target_days) if self.target_days else 0

    def length_from(self, start_ms: int) -> int:
        """The target as counted time when counting starts at start_ms: on the calendar clock its nominal
        days are local calendar days from start_ms (23 or 25 hours across a DST change), then the exact rest
        (P1DT12H: the same wall time the next day, then 12 hours); on a business calendar each day is 24 hours
        of opening time, as before nominal days existed."""
        return self.target_ms + self.drift_from(start_ms)

    def deadline_from(self, start_ms: int) -> int:
        """The deadline of the target when counting starts at start_ms and never pauses: created 06:05 EST
        before the spring change, P7D is due 06:05 EDT seven days later (167 hours)."""
        return self.clock.add(start_ms, self.length_from(start_ms))


@dataclass(frozen=True)
class Sla:
    """Policies in order, with the statuses that pause every running goal."""

    policies: tuple[tuple[str, Matcher, tuple[Goal, ...]], ...]
    pause_statuses: frozenset[str]
    by_name: dict[str, tuple[Goal, ...]]

    def goals_named(self, policy: str) -> tuple[Goal, ...]:
        """The goals of a policy by its name (none for an unknown name, e.g. one removed from the file)."""
        return self.by_name.get(policy, ())

    def goals_for(self, facts: Facts) -> tuple[str, tuple[Goal, ...]]:
        """(policy name, its goals) of the first policy matching the request; no goals when none matches."""
        for name, matcher, goals in self.policies:
            if matcher.matches(facts):
                return name, goals
        return "none", ()


NO_SLA = Sla(policies=(), pause_statuses=frozenset({"on_hold"}), by_name={})


def compile_sla(spec: models.SlaFile, *, time_zone: str) -> Sla:
    """The compiled policies (the loader has checked every name the file uses)."""
    clocks = {"calendar": sla_calendar.CalendarTime(ZoneInfo(time_zone))}
    for name, calendar in spec.calendars.items():
        clocks[name] = build_calendar(name, calendar, default_zone=time_zone)
    policies = tuple((p.name, Matcher(p.when), tuple(_goal(n, g, clocks, spec.warnings) for n, g in p.goals.items()))
                     for p in spec.policies)
    return Sla(policies=policies, pause_statuses=frozenset(spec.pause_statuses),
               by_name={name: goals for name, _, goals in policies})


def build_calendar(name: str, spec: models.CalendarSpec, *, default_zone: str) -> sla_calendar.BusinessCalendar:
    """A business calendar from its spec."""
    days = tuple(ranges(spec.hours.get(day, "")) for day in models.WEEKDAYS)
    public = (sla_calendar.public_holidays(country=spec.holidays.country, subdivision=spec.holidays.subdivision)
              if spec.holidays else frozenset())
    return sla_calendar.BusinessCalendar(name=name, zone=ZoneInfo(spec.time_zone or default_zone),
                                         hours=sla_calendar.WeeklyHours(days=days), holiday_dates=public,
                                         extra_closed=spec.closed)


def ranges(text: str) -> tuple[tuple[time, time], ...]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        opens, closes = (p.strip() for p in part.split("-"))
        out.append((_wall(opens), _wall(closes)))
    return tuple(out)


def _wall(text: str) -> time:
    return time(0) if text == "24:00" else time.fromisoformat(text)


def _goal(name: str, spec: models.GoalSpec, clocks: dict, warnings: list[float]) -> Goal:
    thresholds = tuple(spec.warnings if spec.warnings is not None else warnings) + (1.0,)
    stops = frozenset(spec.stop) if spec.stop is not None else DEFAULT_STOPS[name]
    return Goal(name=name, target_ms=int(spec.target.total_seconds() * 1000), clock=clocks[spec.clock],
                thresholds=thresholds, stops=stops, target_days=spec.target_days)


def explicit_resolve(target_ms: int) -> Goal:
    """The resolve goal of an explicit due date where the request's policy has none: calendar time, no warnings."""
    return Goal(name=RESOLVE, target_ms=target_ms, clock=_CALENDAR_TIME, thresholds=(1.0,),
                stops=DEFAULT_STOPS[RESOLVE])


_CALENDAR_TIME = sla_calendar.CalendarTime()


def with_due_date(goals: Mapping[str, Goal], *, due_in_ms: int | None) -> dict[str, Goal]:
    """A request's goals by name once its explicit due date (due_in_ms after submission; None: none) is applied:
    the due date is the resolve goal, on calendar time, even where no policy has one (an import's due date of a
    service without a policy is still the city's deadline); the policy's warnings and stops are kept."""
    goals = dict(goals)
    if due_in_ms:
        resolve = goals.get(RESOLVE)
        goals[RESOLVE] = (explicit_resolve(due_in_ms) if resolve is None else
                          dataclasses.replace(resolve, target_ms=due_in_ms, clock=_CALENDAR_TIME, target_days=0))
    return goals


def expected_resolve_ms(goals: Mapping[str, Goal], *, submitted_ms: int, due_in_ms: int | None) -> int | None:
    """When a request is expected to be resolved if its resolve goal counts from submission without pausing: the
    lifecycle's first expected time and the API's estimate before the lifecycle has set one. None without a
    resolve goal."""
    resolve = with_due_date(goals, due_in_ms=due_in_ms).get(RESOLVE)
    return resolve.deadline_from(submitted_ms) if resolve is not None else None
