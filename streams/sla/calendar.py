"""Time that counts toward a goal: all of it (calendar time), or only the opening hours of a business calendar.

Instants are integer milliseconds since the epoch (UTC). A business calendar has weekly opening hours in a
time zone (wall-clock times, so daylight-saving changes move them correctly) and public holidays from the
`holidays` package plus explicit extra dates.
"""

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from streams.sla.exceptions import CalendarError

DAY_MS = 86_400_000
MAX_DAYS = 3660  # a target that does not fit in ten years of opening hours is a configuration error


class CalendarTime:
    """Every millisecond counts."""

    name = "calendar"

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


def public_holidays(*, country: str, subdivision: str | None):
    """The country's (and subdivision's) public holidays, years filled in as they are asked for."""
    try:
        return holidays_lib.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as error:
        raise CalendarError(f"no public holidays known for {country}/{subdivision}: {error}") from None
