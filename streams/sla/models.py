"""sla.yaml, as typed models (unknown keys are errors). Durations are ISO 8601 (PT8H, P14D)."""

import re
from datetime import date, timedelta

from pydantic import Field, field_validator

from streams.configuration import ConfigModel
from streams.jurisdiction.models import Condition

STATUSES = ("triage", "open", "acknowledged", "in_progress", "on_hold", "resolved", "closed")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGES = re.compile(r"^\s*\d{2}:\d{2}-\d{2}:\d{2}\s*(,\s*\d{2}:\d{2}-\d{2}:\d{2}\s*)*$")


class Holidays(ConfigModel):
    """Public holidays from the `holidays` package for a country (ISO code) and optional subdivision."""

    country: str
    subdivision: str | None = None


class CalendarSpec(ConfigModel):
    """Weekly opening hours ('09:00-17:00', several ranges comma-separated, '24:00' or '00:00' closes at
    midnight), holidays and extra closed dates. The time zone is the jurisdiction's unless given."""

    hours: dict[str, str]
    holidays: Holidays | None = None
    closed: list[date] = []
    time_zone: str | None = None

    @field_validator("hours")
    @classmethod
    def _known_days(cls, hours: dict[str, str]) -> dict[str, str]:
        for day, ranges in hours.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r} is not one of {', '.join(WEEKDAYS)}")
            if not _RANGES.match(ranges):
                raise ValueError(f"{day}: {ranges!r} is not like '09:00-17:00' or '08:00-12:00, 13:00-17:00'")
        return hours


class GoalSpec(ConfigModel):
    """One goal: a target duration counted on a clock ('calendar', or a calendar's name)."""

    target: timedelta = Field(gt=timedelta(0))
    clock: str = "calendar"
    warnings: list[float] | None = Field(default=None, description="fractions of the target; default: the file's")
    stop: list[str] | None = Field(default=None, description="statuses that meet the goal; acknowledge and "
                                   "resolve have defaults")


class Policy(ConfigModel):
    """Goals for the requests a condition matches; the first matching policy applies."""

    name: str
    when: Condition = Condition()
    goals: dict[str, GoalSpec] = Field(min_length=1)


class SlaFile(ConfigModel):
    """sla.yaml."""

    calendars: dict[str, CalendarSpec] = {}
    warnings: list[float] = [0.5, 0.75]
    pause_statuses: list[str] = ["on_hold"]
    policies: list[Policy] = Field(min_length=1)

    @field_validator("warnings")
    @classmethod
    def _fractions(cls, warnings: list[float]) -> list[float]:
        if any(not 0 < w < 1 for w in warnings) or warnings != sorted(set(warnings)):
            raise ValueError("warnings are increasing fractions between 0 and 1")
        return warnings
