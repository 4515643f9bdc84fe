"""Business-time arithmetic: a New York business calendar (Mon-Fri 09:00-17:00 America/New_York, US/NY
public holidays) and plain calendar time. Instants are UTC epoch milliseconds."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicflow.streams.sla import calendar as sla_calendar
from civicflow.streams.sla import models
from civicflow.streams.sla.exceptions import CalendarError
from civicflow.streams.sla.policy import build_calendar

NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3_600_000
WEEKDAYS_9_TO_5 = {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}


def local(*args) -> int:
    """A New York wall-clock time as UTC epoch milliseconds."""
    return int(datetime(*args, tzinfo=NEW_YORK).timestamp() * 1000)


def wall(at_ms: int) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, tz=NEW_YORK)


def calendar(hours=None, *, closed=(), holidays=True) -> sla_calendar.BusinessCalendar:
    spec = models.CalendarSpec(hours=WEEKDAYS_9_TO_5 if hours is None else hours, closed=list(closed),
                               holidays=models.Holidays(country="US", subdivision="NY") if holidays else None)
    return build_calendar("business", spec, default_zone="America/New_York")


NYC = calendar()
NY_HOLIDAYS = holidays.country_holidays("US", subdiv="NY")

instants = st.integers(min_value=local(2010, 1, 1), max_value=local(2030, 12, 31))
durations = st.integers(min_value=0, max_value=300 * HOUR)
# Holidays are computed per year on first use: no per-example deadline.
prop = settings(max_examples=200, deadline=None)


# ---- properties --------------------------------------------------------------------------------------------

@prop
@given(start=instants, duration=durations)
def test_adding_then_measuring_round_trips(start, duration):
    end = NYC.add(start, duration)
    assert end >= start
    assert NYC.between(start, end) == duration


@prop
@given(start=instants, shorter=durations, longer=durations)
def test_add_is_monotonic_in_duration(start, shorter, longer):
    shorter, longer = sorted((shorter, longer))
    assert NYC.add(start, shorter) <= NYC.add(start, longer)


@prop
@given(a=instants, gaps=st.tuples(st.integers(0, 40 * 24 * HOUR), st.integers(0, 40 * 24 * HOUR)))
def test_between_is_additive(a, gaps):
    b = a + gaps[0]
    c = b + gaps[1]
    assert NYC.between(a, b) + NYC.between(b, c) == NYC.between(a, c)


@prop
@given(start=instants, end=instants)
def test_between_is_never_negative_and_zero_backwards(start, end):
    assert NYC.between(start, end) >= 0
    if end <= start:
        assert NYC.between(start, end) == 0


@prop
@given(start=instants, duration=st.integers(min_value=1, max_value=300 * HOUR))
def test_a_positive_add_ends_in_opening_hours_or_exactly_at_closing(start, duration):
    end = NYC.add(start, duration)
    at = wall(end)
    assert NYC.is_open(end - 1), f"{at} is not reached through opening time"
    assert NYC.is_open(end) or at.time() == time(17, 0), at
    assert at.weekday() < 5 and time(9, 0) < at.time() <= time(17, 0), at


@prop
@given(at=instants)
def test_is_open_means_a_weekday_between_nine_and_five_that_is_no_holiday(at):
    moment = wall(at)
    expected = (moment.weekday() < 5 and time(9) <= moment.time() < time(17)
                and moment.date() not in NY_HOLIDAYS)
    assert NYC.is_open(at) is expected


# ---- weekends and holidays ----------------------------------------------------------------------------------

def test_an_ordinary_weekday_counts_eight_hours():
    assert NYC.between(local(2026, 3, 4), local(2026, 3, 5)) == 8 * HOUR
    assert NYC.between(local(2026, 3, 4, 8), local(2026, 3, 4, 10, 30)) == 90 * 60_000


def test_a_saturday_and_a_sunday_count_nothing():
    assert NYC.between(local(2026, 3, 14), local(2026, 3, 15)) == 0
    assert NYC.between(local(2026, 3, 13, 17), local(2026, 3, 16, 9)) == 0


@pytest.mark.parametrize("holiday", [date(2011, 7, 4), date(2026, 11, 26), date(2026, 12, 25),
                                     date(2026, 7, 3)],  # Independence Day 2026 is a Saturday: observed Friday
                         ids=str)
def test_a_holiday_counts_nothing(holiday):
    start = local(holiday.year, holiday.month, holiday.day)
    assert holiday.weekday() < 5
    assert NYC.between(start, start + 24 * HOUR) == 0
    assert not NYC.is_open(local(holiday.year, holiday.month, holiday.day, 12))
    without_holidays = calendar(holidays=False)
    assert without_holidays.between(start, start + 24 * HOUR) == 8 * HOUR


def test_add_skips_weekends_and_holidays():
    # Wednesday 2026-11-25 16:00 + 2 h: one hour on Wednesday, Thanksgiving and the weekend-free Friday next.
    assert wall(NYC.add(local(2026, 11, 25, 16), 2 * HOUR)) == datetime(2026, 11, 27, 10, tzinfo=NEW_YORK)
    # Friday 16:00 + 8 h ends Monday 16:00.
    assert wall(NYC.add(local(2026, 3, 13, 16), 8 * HOUR)) == datetime(2026, 3, 16, 16, tzinfo=NEW_YORK)


def test_add_from_closed_time_starts_at_the_next_opening():
    assert wall(NYC.add(local(2026, 3, 14, 12), HOUR)) == datetime(2026, 3, 16, 10, tzinfo=NEW_YORK)
    assert wall(NYC.add(local(2026, 3, 16, 6), 8 * HOUR)) == datetime(2026, 3, 16, 17, tzinfo=NEW_YORK)
    assert NYC.add(local(2026, 3, 14, 12), 0) == local(2026, 3, 14, 12), "nothing to add: the start itself"


def test_extra_closed_dates_count_nothing():
    closed = calendar(closed=[date(2026, 12, 24)])
    assert NYC.between(local(2026, 12, 24), local(2026, 12, 25)) == 8 * HOUR
    assert closed.between(local(2026, 12, 24), local(2026, 12, 25)) == 0
    assert wall(closed.add(local(2026, 12, 23, 16), 2 * HOUR)) == datetime(2026, 12, 28, 10, tzinfo=NEW_YORK)


# ---- daylight-saving time -----------------------------------------------------------------------------------

@pytest.mark.parametrize("friday, monday", [((2026, 3, 6), (2026, 3, 9)), ((2026, 10, 30), (2026, 11, 2))],
                         ids=["spring-forward", "fall-back"])
def test_opening_hours_stay_nine_to_five_local_across_a_dst_change(friday, monday):
    assert NYC.between(local(*friday, 12), local(*monday, 12)) == 8 * HOUR
    assert NYC.between(local(*monday), local(*monday) + 24 * HOUR) == 8 * HOUR
    assert wall(NYC.add(local(*friday, 12), 8 * HOUR)) == datetime(*monday, 12, tzinfo=NEW_YORK)
    assert NYC.is_open(local(*monday, 9)) and not NYC.is_open(local(*monday, 8, 59))
    assert NYC.is_open(local(*monday, 16, 59)) and not NYC.is_open(local(*monday, 17))


@pytest.mark.parametrize("day, hours", [((2026, 3, 8), 23), ((2026, 11, 1), 25), ((2026, 3, 15), 24)],
                         ids=["spring-forward", "fall-back", "ordinary-sunday"])
def test_a_24_hour_day_counts_the_real_length_of_the_day(day, hours):
    always = calendar({d: "00:00-24:00" for d in models.WEEKDAYS}, holidays=False)
    midnight = local(*day)
    next_midnight = int(datetime.combine(date(*day) + timedelta(days=1), time(0), tzinfo=NEW_YORK).timestamp()
                        * 1000)
    assert always.between(midnight, next_midnight) == hours * HOUR
    assert always.add(midnight, hours * HOUR) == next_midnight


def test_a_24_hour_week_counts_every_millisecond():
    always = calendar({d: "00:00-24:00" for d in models.WEEKDAYS}, holidays=False)
    start, end = local(2026, 2, 20, 13, 7), local(2026, 3, 20, 1, 2)  # across the spring change
    assert always.between(start, end) == end - start
    assert always.add(start, end - start) == end


def test_sunday_only_24_hours_counts_nothing_on_other_days():
    sundays = calendar({"sun": "00:00-24:00"}, holidays=False)
    assert sundays.between(local(2026, 11, 1), local(2026, 11, 8)) == 25 * HOUR
    assert sundays.between(local(2026, 3, 2), local(2026, 3, 8)) == 0


# ---- configuration errors -----------------------------------------------------------------------------------

def test_a_calendar_without_opening_hours_is_an_error():
    with pytest.raises(CalendarError, match="no opening hours"):
        calendar({})
    with pytest.raises(CalendarError, match="no opening hours"):
        sla_calendar.BusinessCalendar(name="never", zone=NEW_YORK, holiday_dates=frozenset(),
                                      hours=sla_calendar.WeeklyHours(days=((),) * 7))


def test_unknown_holidays_are_an_error():
    with pytest.raises(CalendarError, match="XX"):
        sla_calendar.public_holidays(country="XX", subdivision=None)


# ---- calendar time ------------------------------------------------------------------------------------------

@given(start=st.integers(-10**13, 10**13), duration=st.integers(0, 10**12), end=st.integers(-10**13, 10**13))
def test_calendar_time_is_plain_arithmetic(start, duration, end):
    clock = sla_calendar.CalendarTime()
    assert clock.add(start, duration) == start + duration
    assert clock.between(start, clock.add(start, duration)) == duration
    assert clock.between(start, end) == max(0, end - start)
