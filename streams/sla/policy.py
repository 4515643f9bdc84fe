"""A jurisdiction's SLA policies compiled for per-request use: calendars built, conditions compiled."""

from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from streams.jurisdiction.conditions import Facts, Matcher
from streams.sla import calendar as sla_calendar
from streams.sla import models

DEFAULT_STOPS = {
    "acknowledge": frozenset({"acknowledged", "in_progress", "on_hold", "resolved", "closed"}),
    "resolve": frozenset({"resolved", "closed"}),
}
RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class Goal:
    """A goal ready to run: target in milliseconds, its clock, thresholds (warnings, then 1.0), stop statuses."""

    name: str
    target_ms: int
    clock: object
    thresholds: tuple[float, ...]
    stops: frozenset[str]


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
    clocks = {"calendar": sla_calendar.CalendarTime()}
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
                thresholds=thresholds, stops=stops)
