"""The processing clock, in UTC, as datetimes or epoch milliseconds (the contracts' unit)."""

import time
from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def utc_now() -> datetime:
    """The processing clock."""
    return datetime.now(timezone.utc)


def wall_clock_ms() -> int:
    """The processing clock in epoch milliseconds."""
    return int(time.time() * 1000)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def from_ms(moment_ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds (exact: no float on the way)."""
    return EPOCH + timedelta(milliseconds=moment_ms)
