"""The report's period: [start, end) on requested_at. Dates and naive times are the jurisdiction's local time."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from datetime import timezone as dt_timezone

from civicflow.services.report.exceptions import ReportError


@dataclass(frozen=True)
class Period:
    """start inclusive, end exclusive, both aware UTC; None leaves that side open."""

    start: datetime | None = None
    end: datetime | None = None

    def label(self, tz: tzinfo, *, first: datetime | None = None, last: datetime | None = None) -> str:
        """How the title shows it, in local time. Whole local days read as an inclusive range of dates
        ("2024-01-01 to 2024-01-31"); without bounds, the span of the data (first and last requested_at)."""
        if self.start is None and self.end is None:
            if first is None or last is None:
                return "all requests"
            return f"all requests, {_day(first, tz)} to {_day(last, tz)}"
        start = self.start.astimezone(tz) if self.start is not None else None
        end = self.end.astimezone(tz) if self.end is not None else None
        if _midnight(start) and _midnight(end):
            left = start.date().isoformat() if start else "the first request"
            right = (end - timedelta(days=1)).date().isoformat() if end else "the last request"
            return f"{left} to {right}"
        left = _stamp(start) if start else "the first request"
        right = f"before {_stamp(end)}" if end else "the last request"
        return f"{left} to {right}"


def parse(start, end, *, tz: tzinfo) -> Period:
    """A Period from what the CLI passes: None, a date, a datetime or an ISO 8601 string for each side.
    A date means local midnight; a time without offset is local to tz."""
    period = Period(start=_moment(start, tz, "start"), end=_moment(end, tz, "end"))
    if period.start is not None and period.end is not None and period.start >= period.end:
        raise ReportError(f"the period is empty: start {period.start.isoformat()} is not before end "
                          f"{period.end.isoformat()} (the end is exclusive)")
    return period


def _moment(value, tz: tzinfo, side: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError as error:
            raise ReportError(f"{side}: {value!r} is not an ISO 8601 date or time (e.g. 2024-01-31 or "
                              f"2024-01-31T08:00)") from error
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0), tzinfo=tz)
    else:
        raise ReportError(f"{side}: expected a date or a time, got {type(value).__name__}")
    return moment.astimezone(dt_timezone.utc)


def _midnight(moment: datetime | None) -> bool:
    return moment is None or moment.timetz().replace(tzinfo=None) == time(0)


def _day(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).date().isoformat()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
