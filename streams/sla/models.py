"""sla.yaml, as typed models (unknown keys are errors). Durations are ISO 8601 (PT8H, P14D)."""

import math
import re
from datetime import date, timedelta
from fractions import Fraction

from pydantic import Field, PrivateAttr, field_validator, model_validator

from civicflow.streams.configuration import ConfigModel
from civicflow.streams.jurisdiction.models import Condition

STATUSES = ("triage", "open", "acknowledged", "in_progress", "on_hold", "resolved", "closed")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGES = re.compile(r"^\s*\d{2}:\d{2}-\d{2}:\d{2}\s*(,\s*\d{2}:\d{2}-\d{2}:\d{2}\s*)*$")
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DATE_PART = re.compile(rf"^P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?(?:T|$)")


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
    """One goal: a target duration counted on a clock ('calendar', or a calendar's name).

    `target` is the whole duration as exact time (a day is 24 hours); `target_days` says how many of its days
    the ISO 8601 text gave as weeks and days (P7D, P1W, the P1D of P1DT12H), which are nominal: on the
    calendar clock they are local calendar days of the jurisdiction. Hours, minutes and seconds are exact, and
    so are years and months (P1M stays 30 x 24 hours) and a duration given as a number of seconds.
    """

    target: timedelta = Field(gt=timedelta(0))
    clock: str = "calendar"
    warnings: list[float] | None = Field(default=None, description="fractions of the target; default: the file's")
    stop: list[str] | None = Field(default=None, description="statuses that meet the goal; acknowledge and "
                                   "resolve have defaults")
    _target_days: int = PrivateAttr(default=0)

    @model_validator(mode="wrap")
    @classmethod
    def _nominal_days(cls, data, handler):
        spec = handler(data)
        if isinstance(data, dict) and isinstance(data.get("target"), str):
            spec._target_days = nominal_days(data["target"], spec.target)
        return spec

    @property
    def target_days(self) -> int:
        """Whole days of the target that are nominal (weeks and days of its ISO 8601 text)."""
        return self._target_days


def nominal_days(text: str, total: timedelta) -> int:
    """The whole days an ISO 8601 duration gives by its W and D designators (P2W3D: 17; P1.5D: 1, the half day
    is exact time; PT36H: 0), never more than the parsed total holds."""
    found = _DATE_PART.match(text.strip())
    if found is None:
        return 0
    weeks, days = (Fraction(v.replace(",", ".")) if v else Fraction(0) for v in found.groups()[2:])
    return max(0, min(math.floor(weeks * 7 + days), total // timedelta(days=1)))


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
