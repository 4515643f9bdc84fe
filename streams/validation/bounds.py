"""Bounds on values, shared by intake and the Open311 API: how far back and ahead a time may lie, how old a live
agency update may be, and what a number may look like.

The limits come from the settings (read once from the environment; `current()`), so every process that checks a
value checks it against the same bounds. A value outside them is refused with a reason code (checks.py); the
read side renders whatever was stored all the same (streams/open311/formats.py).
"""

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

# A decimal number as clients write it: ASCII digits only (float() also reads '４０.７', '1_000', 'nan', 'inf').
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_DUE_AHEAD = timedelta(days=5 * 366)  # an explicit due date further from its submission is a typo
_EARLIEST = datetime(1, 1, 2, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Bounds:
    """horizon: how far before the platform's clock a live submission's time may lie; skew: how far ahead of it
    any time may lie; update_max_age: how far before it a live agency update may have happened."""

    horizon: timedelta = timedelta(days=30)
    skew: timedelta = timedelta(minutes=5)
    update_max_age: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings) -> "Bounds":
        return cls(horizon=timedelta(days=settings.time_horizon_days), skew=timedelta(seconds=settings.clock_skew_s),
                   update_max_age=timedelta(hours=settings.update_max_age_h))

    def earliest(self, now: datetime) -> datetime:
        """The oldest time a live submission may carry."""
        return _minus(now, self.horizon)

    def latest(self, now: datetime) -> datetime:
        """The latest time any record may carry (the allowed clock skew ahead)."""
        return now + self.skew

    def oldest_update(self, now: datetime) -> datetime:
        """The oldest time a live agency update may carry."""
        return _minus(now, self.update_max_age)


@lru_cache(maxsize=1)
def current() -> Bounds:
    """The bounds of this process's settings (CIVICFLOW_TIME_HORIZON_DAYS, CIVICFLOW_CLOCK_SKEW_S,
    CIVICFLOW_UPDATE_MAX_AGE_H)."""
    from civicflow.streams import settings

    return Bounds.from_settings(settings.get())


def parse_number(text: str) -> float | None:
    """The value of a decimal number written with ASCII digits (surrounding blanks allowed); None for anything
    else: other scripts' digits, NaN, infinity, '1e999' (which overflows to infinity), thousands separators."""
    stripped = text.strip(" \t\r\n")
    if _NUMBER.fullmatch(stripped) is None:
        return None
    value = float(stripped)
    return value if math.isfinite(value) else None


def _minus(moment: datetime, span: timedelta) -> datetime:
    try:
        return moment - span
    except OverflowError:
        return _EARLIEST
