"""Checks of sla.yaml against the rest of its jurisdiction: clocks, statuses, goal names, rule conditions."""

from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from civicflow.streams.jurisdiction import checks as jurisdiction_checks
from civicflow.streams.sla import calendar as sla_calendar
from civicflow.streams.sla import models
from civicflow.streams.sla import policy as sla_policy
from civicflow.streams.sla.exceptions import CalendarError


def problems(*, sla: models.SlaFile, known: jurisdiction_checks.Known) -> list[str]:
    """Every problem of the file, as 'sla.yaml: place: message' lines."""
    found = [f"sla.yaml: pause_statuses: {s!r} is not a status" for s in sla.pause_statuses
             if s not in models.STATUSES]
    for name, calendar in sla.calendars.items():
        found += _calendar_problems(f"sla.yaml: calendars.{name}", calendar)
    clocks = {"calendar", *sla.calendars}
    for rule in sla.policies:
        where = f"sla.yaml: {rule.name}"
        found += jurisdiction_checks.condition_problems(where, rule.when, known)
        for goal_name, goal in rule.goals.items():
            found += _goal_problems(f"{where}.{goal_name}", goal_name, goal, clocks)
    return found


def _calendar_problems(where: str, calendar: models.CalendarSpec) -> list[str]:
    found = []
    if calendar.time_zone:
        try:
            ZoneInfo(calendar.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            found.append(f"{where}: time_zone: {calendar.time_zone!r} is not an IANA time zone")
    for day, text in calendar.hours.items():
        found += _hours_problems(f"{where}: hours.{day}", text)
    if calendar.holidays:
        try:
            sla_calendar.public_holidays(country=calendar.holidays.country,
                                         subdivision=calendar.holidays.subdivision)
        except CalendarError as error:
            found.append(f"{where}: holidays: {error}")
    return found


def _hours_problems(where: str, text: str) -> list[str]:
    """Times that exist, each range closing after it opens, ranges in order without overlaps (the calendar
    arithmetic walks them in order and would count an overlap twice)."""
    try:
        day_ranges = sla_policy.ranges(text)
    except ValueError:
        return [f"{where}: {text!r} is not made of times from 00:00 to 24:00"]
    found, previous_close = [], None
    for opens, closes in day_ranges:
        if closes != time(0) and closes <= opens:
            found.append(f"{where}: {opens:%H:%M} is not before {closes:%H:%M}")
        elif previous_close is not None and (previous_close == time(0) or opens < previous_close):
            found.append(f"{where}: {opens:%H:%M} opens before the previous range closes "
                         "(list ranges in order, without overlaps)")
        previous_close = closes
    return found


def _goal_problems(where: str, name: str, goal: models.GoalSpec, clocks: set[str]) -> list[str]:
    found = []
    if goal.clock not in clocks:
        found.append(f"{where}: clock {goal.clock!r} is neither 'calendar' nor a calendar of this file")
    if goal.stop is None and name not in sla_policy.DEFAULT_STOPS:
        found.append(f"{where}: a goal other than {', '.join(sla_policy.DEFAULT_STOPS)} lists its stop statuses")
    found += [f"{where}: stop: {s!r} is not a status" for s in goal.stop or () if s not in models.STATUSES]
    if goal.warnings is not None and (any(not 0 < w < 1 for w in goal.warnings)
                                      or goal.warnings != sorted(set(goal.warnings))):
        found.append(f"{where}: warnings are increasing fractions between 0 and 1")
    return found
