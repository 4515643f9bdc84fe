"""The report's figures from a read model with known values (see conftest.py for the hand computation)."""

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from civicflow.services.report import figures, period, queries
from civicflow.services.report.exceptions import ReportError
from civicflow.services.report.figures import Names

from .conftest import insert

NEW_YORK = ZoneInfo("America/New_York")
JANUARY = period.parse("2024-01-01", "2024-02-01", tz=NEW_YORK)
NAMES = Names(jurisdiction_id="nyc", jurisdiction_name="New York City", time_zone=NEW_YORK,
              agencies={"DSNY": "Department of Sanitation"}, layers=("borough", "community_district"))


def report_of(engine, span=JANUARY, names=NAMES, min_count=1):
    """The figures of the read model; min_count 1 ranks every group (the hand-computed read model's groups are
    all below the default minimum count, which test_minimum_count covers)."""
    with engine.connect() as conn:
        outcomes = queries.resolve_outcomes(conn, jurisdiction_id="nyc", period=span)
        return figures.compute(queries.requests_in(conn, jurisdiction_id="nyc", period=span), outcomes, names,
                               period_label="January", min_count=min_count)


def by_key(report, breakdown):
    return {row.key: row for row in report.sections[breakdown]}


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([2, 4, 6, 10, 20], 0.5, 6), ([2, 4, 6, 10, 20], 0.9, 16), ([6, 20], 0.5, 13), ([6, 20], 0.9, 18.6),
    (list(range(1, 11)), 0.9, 9.1), ([7], 0.9, 7), ([], 0.5, None)])
def test_quantile_interpolates_between_closest_ranks(values, q, expected):
    assert figures.quantile(values, q) == (pytest.approx(expected) if expected is not None else None)


def test_resolve_outcome_is_the_last_settlement_of_the_resolve_goal(filled):
    with filled.connect() as conn:
        outcomes = queries.resolve_outcomes(conn, jurisdiction_id="nyc", period=JANUARY)
    # r3's acknowledge goal was met but its resolve goal breached; r4 was met, reopened, then breached;
    # r6 only has an acknowledge settlement; r10 and r11 lie outside January.
    assert outcomes == {"r1": "met", "r2": "met", "r3": "breached", "r4": "breached", "r5": "met",
                        "r7": "breached"}


def test_city_figures(filled):
    city = report_of(filled).city
    assert (city.received, city.rejected, city.requests, city.closed) == (9, 2, 7, 5)
    assert (city.met, city.breached, city.open) == (3, 3, 1)
    assert city.on_time_rate == pytest.approx(0.5)
    assert city.median_hours == pytest.approx(6)
    assert city.p90_hours == pytest.approx(16)


def test_requests_by_channel_count_rejected_submissions_only_there(filled):
    channels = by_key(report_of(filled), "channel")
    assert {key: (r.received, r.requests, r.rejected) for key, r in channels.items()} == {
        "web": (5, 3, 2), "phone": (3, 3, 0), "mobile": (1, 1, 0)}
    assert [r.key for r in report_of(filled).sections["channel"]] == ["web", "phone", "mobile"]
    assert channels["phone"].median_hours == pytest.approx(10)      # 2, 10, 20
    assert channels["web"].on_time_rate == pytest.approx(2 / 3)     # r2, r5 met; r7 breached


def test_on_time_and_time_to_close_by_agency(filled):
    agencies = by_key(report_of(filled), "agency")
    assert set(agencies) == {"DSNY", "NYPD", "DOT"}                 # the rejected r8, r9 have no agency row
    dsny, nypd, dot = agencies["DSNY"], agencies["NYPD"], agencies["DOT"]
    assert (dsny.met, dsny.breached, dsny.open, dsny.on_time_rate) == (2, 1, 0, pytest.approx(2 / 3))
    assert (nypd.met, nypd.breached, nypd.open, nypd.on_time_rate) == (1, 1, 1, pytest.approx(0.5))
    assert (dot.met, dot.breached, dot.open, dot.on_time_rate) == (0, 1, 0, 0.0)
    assert (dsny.median_hours, dsny.p90_hours) == (pytest.approx(4), pytest.approx(8.8))
    assert (nypd.median_hours, nypd.p90_hours) == (pytest.approx(13), pytest.approx(18.6))
    assert dot.median_hours is None and dot.gap_hours is None
    assert dsny.name == "Department of Sanitation" and nypd.name == "NYPD"   # names known / codes otherwise


def test_district_gaps_to_the_city_median_worst_first(filled):
    report = report_of(filled)
    boroughs = report.sections["borough"]
    assert [(r.key, r.median_hours, r.gap_hours) for r in boroughs] == [
        ("Brooklyn", 10, 4), ("Manhattan", 3, -3), ("Queens", None, None)]
    assert boroughs[0].gap_ratio == pytest.approx(10 / 6)
    assert boroughs[0].p90_hours == pytest.approx(18)               # 6, 10, 20
    districts = report.sections["community_district"]
    assert [(r.key, r.gap_hours) for r in districts] == [("301", 9), ("302", 0), ("105", -3), ("401", None)]
    assert districts[0].gap_ratio == pytest.approx(2.5)
    assert districts[0].name == "301 (Brooklyn)"
    assert report.layers == ["borough", "community_district"]


def test_local_law_47_breakdown_by_agency_and_service_sorted_by_gap(filled):
    report = report_of(filled)
    assert [(r.key, r.gap_hours) for r in report.sections["agency"]] == [("NYPD", 7), ("DSNY", -2), ("DOT", None)]
    assert [r.key for r in report.sections["service"]] == ["noise-residential", "sanitation-condition",
                                                           "bridge-condition"]
    assert report.sections["service"][0].gap_ratio == pytest.approx(13 / 6)


def test_period_bounds_are_local_days_start_inclusive_end_exclusive():
    assert JANUARY.start == datetime(2024, 1, 1, 5, tzinfo=timezone.utc)     # midnight in New York (EST)
    assert JANUARY.end == datetime(2024, 2, 1, 5, tzinfo=timezone.utc)
    assert period.parse(date(2024, 1, 1), None, tz=NEW_YORK).start == JANUARY.start
    assert period.parse("2024-01-01T00:00:00+00:00", None, tz=NEW_YORK).start == datetime(2024, 1, 1,
                                                                                          tzinfo=timezone.utc)
    assert JANUARY.label(NEW_YORK) == "2024-01-01 to 2024-01-31"
    assert period.parse("2024-01-01T08:30", None, tz=NEW_YORK).label(NEW_YORK) == \
        "2024-01-01 08:30 to the last request"


@pytest.mark.parametrize(("start", "end"), [("2024-02-01", "2024-01-01"), ("2024-01-01", "2024-01-01"),
                                            ("January", None), (None, 20240101)])
def test_bad_periods_are_refused(start, end):
    with pytest.raises(ReportError):
        period.parse(start, end, tz=NEW_YORK)


def test_the_period_filters_on_requested_at(filled):
    everything = report_of(filled, span=period.Period())
    assert everything.city.received == 11                              # r10 and r11 are back
    assert everything.city.median_hours == pytest.approx(10)           # 2, 4, 6, 10, 20, 100, 100
    assert by_key(everything, "agency")["DSNY"].met == 4
    first_week = report_of(filled, span=period.parse("2024-01-01", "2024-01-08", tz=NEW_YORK))
    assert first_week.city.received == 3                               # r1, r2, r3
    assert first_week.city.median_hours == pytest.approx(4)


def test_requests_without_districts_or_agency_are_grouped_as_none(engine):
    insert(engine, rows=[("x1", None, "sanitation-condition", None, None,
                          datetime(2024, 1, 3, 15, tzinfo=timezone.utc), 5, "closed"),
                         ("x2", "DSNY", "sanitation-condition", "web", ("Queens", "401"),
                          datetime(2024, 1, 3, 16, tzinfo=timezone.utc), 3, "closed")], history=[])
    report = report_of(engine)
    assert by_key(report, "agency")[figures.NONE].requests == 1
    assert by_key(report, "channel")[figures.NONE].received == 1
    assert by_key(report, "borough")[figures.NONE].median_hours == pytest.approx(5)
    assert by_key(report, "borough")["Queens"].gap_hours == pytest.approx(-1)   # city median of 3 and 5 is 4
