"""Groups below the minimum count (20 by default; --min-count, CIVICFLOW_REPORT_MIN_COUNT) are shown, but left
out of every "worst" ranking and of the gap highlights, with a note saying how many and why.

The read model (January 2024, New York):

    district        agency  requests  closed after  resolve
    401 (Queens)    NYPD    20        10 h          15 met, 5 breached
    301 (Brooklyn)  DSNY    20        2 h           20 met
    105 (Manhattan) DOT     3         100 h         3 breached

City median 10 h: 401's gap is 0, 301's -8 h, 105's +90 h, the largest by far, from three requests only.
"""

import csv
import io
import re

import pytest

from civicflow.services.cli import service as cli_service
from civicflow.services.report import charts, figures, service

from .conftest import batch, insert, joined
from .test_figures import report_of

READ_MODEL = joined(batch("q", 20, agency="NYPD", place=("Queens", "401"), hours=10, met=15, breached=5),
                    batch("b", 20, agency="DSNY", place=("Brooklyn", "301"), hours=2, met=20),
                    batch("m", 3, agency="DOT", place=("Manhattan", "105"), hours=100, breached=3))


@pytest.fixture
def mixed(engine):
    insert(engine, **READ_MODEL)
    return engine


@pytest.fixture(autouse=True)
def no_setting(monkeypatch):
    monkeypatch.delenv("CIVICFLOW_REPORT_MIN_COUNT", raising=False)


def run(settings, capsys, **kwargs):
    code = service.main(settings, **{"fmt": "table", "start": "2024-01-01", "end": "2024-02-01", **kwargs})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def keys(report, breakdown):
    return [row.key for row in report.sections[breakdown]]


def test_small_groups_stay_in_their_section_but_after_the_ranking(mixed):
    report = report_of(mixed, min_count=figures.DEFAULT_MIN_COUNT)
    assert report.min_count == 20
    assert keys(report, "community_district") == ["401", "301", "105"]     # not 105 (+90 h) first
    assert keys(report, "agency") == ["NYPD", "DSNY", "DOT"]
    districts = {row.key: row for row in report.sections["community_district"]}
    assert districts["105"].few_closed and districts["105"].gap_hours == pytest.approx(90)   # still shown
    assert not districts["401"].few_closed and not districts["301"].few_closed
    agencies = {row.key: row for row in report.sections["agency"]}
    assert agencies["DOT"].few_settled and not agencies["NYPD"].few_settled


def test_groups_without_any_closed_request_are_not_counted_as_left_out(engine):
    insert(engine, **joined(batch("q", 20, agency="NYPD", place=("Queens", "401"), hours=10),
                            batch("o", 2, agency="DOT", place=("Queens", "402"), hours=None)))
    districts = {row.key: row for row in report_of(engine, min_count=20).sections["community_district"]}
    assert not districts["402"].few_closed and districts["402"].gap_hours is None   # nothing to rank anyway


def test_a_lower_minimum_ranks_them_again(mixed):
    report = report_of(mixed, min_count=3)
    assert keys(report, "community_district") == ["105", "401", "301"]
    assert not any(row.few_closed or row.few_settled for row in report.rows())


def test_rankings_in_the_charts_leave_small_groups_out():
    small = figures.Row(breakdown="agency", key="DOT", name="DOT", requests=3, closed=3, met=0, breached=3, open=0,
                        on_time_rate=0.0, median_hours=100.0, p90_hours=100.0, gap_hours=90.0, gap_ratio=10.0,
                        few_closed=True, few_settled=True)
    assert charts.on_time_by_agency([small], city_rate=0.5) is None
    assert charts.district_gaps([small], layer="community_district", city_median=10.0) is None
    assert charts.time_to_close([small], city_median=10.0, title="t", salt="s") is not None   # shown, not ranked


def test_the_table_marks_them_and_says_how_many_and_why(mixed, settings, capsys):
    code, out, err = run(settings, capsys)
    assert code == 0, err
    section = out[out.index("by community district"):]
    assert [line.split()[0] for line in section.splitlines()[3:6]] == ["401", "301", "105"]
    assert re.search(r"^105 \*\s+105 \(Manhattan\)\s+3\s+3\s+0\s+3\s+0\s+0\.0%\s+4\.2 d", section, re.M)
    assert ("* 1 of 3 groups has 1 to 19 closed requests, under the minimum count of 20: too few for a time to "
            "close that holds, so listed after the ranking, left out of it and of the gap highlights.") in section


def test_the_page_neither_ranks_nor_highlights_them(mixed, settings, capsys, tmp_path):
    target = tmp_path / "report.html"
    code, _, err = run(settings, capsys, fmt="html", out_path=target)
    assert code == 0, err
    page = target.read_text(encoding="utf-8")
    [small] = re.findall(r'<tr class="few"><td class="k">105 \*</td>.*?</tr>', page)
    assert "bad" not in small and "good" not in small                       # +90 h, not highlighted
    assert re.search(r'<tr><td class="k">301</td>.*?<td class="good">-8\.0 h</td>', page)
    assert ("1 of 3 groups has 1 to 19 settled resolve goals, under the minimum count of 20: too few for an "
            "on-time rate that holds, so left out of this ranking") in page     # DOT, 0 % of 3
    assert page.count("1 of 3 groups has 1 to 19 closed requests") >= 2         # under the chart and the table
    assert page.count("<svg") == 4


def test_the_csv_flags_them(mixed, settings, capsys):
    code, out, _ = run(settings, capsys, fmt="csv")
    assert code == 0
    rows = {(r["breakdown"], r["key"]): r for r in csv.DictReader(io.StringIO(out))}
    assert rows[("community_district", "105")]["few_closed"] == "true"
    assert rows[("community_district", "401")]["few_closed"] == "false"
    assert rows[("agency", "DOT")]["few_settled"] == "true"
    assert {r["min_count"] for r in rows.values()} == {"20"}


def test_the_minimum_is_an_option_and_a_setting(mixed, settings, capsys, monkeypatch):
    def first_district(out):
        section = out[out.index("by community district"):]
        return section.splitlines()[3].split()[0]

    assert first_district(run(settings, capsys)[1]) == "401"
    assert first_district(run(settings, capsys, min_count=3)[1]) == "105"
    monkeypatch.setenv("CIVICFLOW_REPORT_MIN_COUNT", "3")
    assert first_district(run(settings, capsys)[1]) == "105"
    assert first_district(run(settings, capsys, min_count=20)[1]) == "401"   # the option wins
    assert cli_service.parser().parse_args(["report", "--min-count", "3"]).min_count == 3
    monkeypatch.setenv("CIVICFLOW_REPORT_MIN_COUNT", "many")
    code, _, err = run(settings, capsys)
    assert code == 2 and "CIVICFLOW_REPORT_MIN_COUNT" in err
    assert run(settings, capsys, min_count=-1)[0] == 2

