"""Time that counts toward a goal: all of it (calendar time), or only the opening hours of a business calendar.

Instants are integer milliseconds since the epoch (UTC). A business calendar has weekly opening hours in a
time zone (wall-clock times, so daylight-saving changes move them correctly) and public holidays from the
`holidays` package plus explicit extra dates.

A target's whole days (ISO 8601 `D` and `W`) are nominal: `day_drift` says how much longer or shorter than
days x 24 hours they are on a clock, counted from a start instant. Calendar time in a time zone counts local
calendar days (a day across a spring-forward lasts 23 hours); a business calendar counts 24 hours of opening
time per day, as it always has.
"""

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from civicflow.streams.sla.exceptions import CalendarError

DAY_MS = 86_400_000
MAX_DAYS = 3660  # a target that does not fit in ten years of opening hours is a configuration error


class CalendarTime:
    """Every millisecond counts. A target's nominal days are local calendar days of `zone` (none: UTC, where
    every day lasts 24 hours, so the target counts as exact time)."""

    name = "calendar"

    def __init__(self, zone: ZoneInfo | None = None) -> None:
        self.zone = zone

    def day_drift(self, start_ms: int, days: int) -> int:
        """Milliseconds by which `days` local calendar days from start_ms differ from days x 24 hours: -1 h
        across a spring-forward, +1 h across a fall-back, 0 without a change of UTC offset between them."""
        if self.zone is None or not days:
            return 0
        return add_local_days(start_ms, days, self.zone) - start_ms - days * DAY_MS

    def add(self, start_ms: int, duration_ms: int) -> int:
        """The instant at which `duration_ms` of counted time has passed since start_ms."""
        return start_ms + duration_ms

    def between(self, start_ms: int, end_ms: int) -> int:
        """Counted milliseconds from start_ms to end_ms (0 when end is not after start)."""
        return max(0, end_ms - start_ms)


@dataclass(frozen=True)
class WeeklyHours:
    """Opening hours by weekday (0 = Monday), each a tuple of (opens, closes) wall-clock times."""

    days: tuple[tuple[tuple[time, time], ...], ...]


class BusinessCalendar:
    """Only opening hours count: weekly hours in a time zone, closed on holidays."""

    def __init__(self, *, name: str, zone: ZoneInfo, hours: WeeklyHours, holiday_dates, extra_closed=()) -> None:
        if not any(hours.days):
            raise CalendarError(f"calendar {name!r} has no opening hours")
        self.name = name
        self.zone = zone
        self.hours = hours
        self.holidays = holiday_dates
        self.extra_closed = frozenset(extra_closed)
        self._intervals = lru_cache(maxsize=8192)(self._day_intervals)

    def add(self, start_ms: int, duration_ms: int) -> int:
        """The instant at which `duration_ms` of opening time has passed since start_ms."""
        if duration_ms <= 0:
            return start_ms
        day = self._local_date(start_ms)
        for _ in range(MAX_DAYS):
            for opens, closes in self._intervals(day):
                if closes <= start_ms:
                    continue
                begin = max(opens, start_ms)
                if duration_ms <= closes - begin:
                    return begin + duration_ms
                duration_ms -= closes - begin
            day += timedelta(days=1)
        raise CalendarError(f"calendar {self.name!r}: target does not fit in {MAX_DAYS} days of opening hours")

    def between(self, start_ms: int, end_ms: int) -> int:
        """Opening milliseconds from start_ms to end_ms (0 when end is not after start)."""
        if end_ms <= start_ms:
            return 0
        total, day, last = 0, self._local_date(start_ms), self._local_date(end_ms)
        while day <= last:
            for opens, closes in self._intervals(day):
                total += max(0, min(closes, end_ms) - max(opens, start_ms))
            day += timedelta(days=1)
        return total

    def day_drift(self, start_ms: int, days: int) -> int:
        """Always 0: on a business calendar a target's day is 24 hours of opening time (P1D is three 8-hour
        business days), as before nominal days existed; opening hours already follow the local calendar."""
        return 0

    def is_open(self, at_ms: int) -> bool:
        """True when at_ms lies within opening hours."""
        intervals = self._intervals(self._local_date(at_ms))
        index = bisect.bisect_right([opens for opens, _ in intervals], at_ms) - 1
        return index >= 0 and at_ms < intervals[index][1]

    def _local_date(self, at_ms: int) -> date:
        return datetime.fromtimestamp(at_ms / 1000, tz=timezone.utc).astimezone(self.zone).date()

    def _day_intervals(self, day: date) -> tuple[tuple[int, int], ...]:
        """The day's opening intervals as UTC milliseconds (none on holidays)."""
        if day in self.extra_closed or day in self.holidays:
            return ()
        return tuple((_ms(day, opens, self.zone), _ms(day, closes, self.zone, end=True))
                     for opens, closes in self.hours.days[day.weekday()])


def _ms(day: date, wall: time, zone: ZoneInfo, *, end: bool = False) -> int:
    """A wall-clock time of a day in the zone as UTC milliseconds; a closing time of 00:00 is the next midnight."""
    if end and wall == time(0):
        day, wall = day + timedelta(days=1), time(0)
    return int(datetime.combine(day, wall, tzinfo=zone).timestamp() * 1000)


def add_local_days(start_ms: int, days: int, zone: ZoneInfo) -> int:
    """The instant `days` calendar days after start_ms in the zone, at the same local wall time.

    A wall time that the due day does not have or has twice resolves as zoneinfo does with fold=0 (PEP 495):
    in a spring-forward gap it moves forward by the length of the gap (02:30 on a New York spring-forward day is
    03:30 EDT), and in a fall-back overlap it is the first, earlier instant (01:30 EDT, not 01:30 EST). Whole
    seconds go through the zone; the milliseconds ride along, since UTC offsets change on whole seconds.
    """
    seconds, millis = divmod(start_ms, 1000)
    wall = datetime.fromtimestamp(seconds, tz=zone).replace(tzinfo=None) + timedelta(days=days)
    due = wall.replace(tzinfo=zone, fold=0)
    return (due - _EPOCH) // timedelta(seconds=1) * 1000 + millis


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def public_holidays(*, country: str, subdivision: str | None):
    """The country's (and subdivision's) public holidays, years filled in as they are asked for."""
    try:
        return holidays_lib.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as error:
        raise CalendarError(f"no public holidays known for {country}/{subdivision}: {error}") from None
