"""`civicflow report --compare RUN_A RUN_B`: on-time rate and breaches per agency and per district side by side,
with B − A, as a table, a CSV or a page; groups below the minimum count marked.

Two runs over the same January 2024 requests, B with stricter goals (resolve goals met / breached):

    agency (district)       A        B        on time B − A   breaches B − A
    DSNY (301, Brooklyn)    20 / 5   15 / 10  80 % → 60 %     +5
    NYPD (401, Queens)      25 / 0   24 / 1   100 % → 96 %    +1
    DOT  (105, Manhattan)   3 / 0    0 / 3    100 % → 0 %     +3, but 3 settled: below the minimum count of 20

City: A 48 met of 53 (90.6 %), B 39 of 53 (73.6 %): -17.0 points, +9 breaches.
"""

import csv
import io
import re

import pytest

from civicflow.services.cli import service as cli_service
from civicflow.services.report import service
from civicflow.streams.settings import Settings

from .conftest import batch, insert, joined

RUN_A = joined(batch("b", 25, agency="DSNY", place=("Brooklyn", "301"), hours=5, met=20, breached=5),
               batch("q", 25, agency="NYPD", place=("Queens", "401"), hours=5, met=25),
               batch("m", 3, agency="DOT", place=("Manhattan", "105"), hours=5, met=3))
RUN_B = joined(batch("b", 25, agency="DSNY", place=("Brooklyn", "301"), hours=5, met=15, breached=10),
               batch("q", 25, agency="NYPD", place=("Queens", "401"), hours=5, met=24, breached=1),
               batch("m", 3, agency="DOT", place=("Manhattan", "105"), hours=5, breached=3))


@pytest.fixture(autouse=True)
def no_setting(monkeypatch):
    monkeypatch.delenv("CIVICFLOW_REPORT_MIN_COUNT", raising=False)


@pytest.fixture
def runs(make_read_model):
    """Two replays' read models: (path of A, path of B)."""
    path_a, engine_a = make_read_model("replay-a.sqlite3")
    path_b, engine_b = make_read_model("replay-b.sqlite3")
    insert(engine_a, **RUN_A)
    insert(engine_b, **RUN_B)
    return path_a, path_b


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "live", database_url=None)


def run(settings, capsys, compare, **kwargs):
    code = service.main(settings, **{"fmt": "table", "compare": compare, **kwargs})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def csv_rows(text: str) -> dict:
    return {(row["breakdown"], row["key"]): row for row in csv.DictReader(io.StringIO(text))}


def test_the_csv_has_both_runs_and_the_difference(runs, settings, capsys):
    code, out, err = run(settings, capsys, runs, fmt="csv")
    assert code == 0, err
    rows = csv_rows(out)
    dsny = rows[("agency", "DSNY")]
    assert (dsny["a_settled"], dsny["a_breached"], dsny["a_on_time_rate"]) == ("25", "5", "0.8")
    assert (dsny["b_settled"], dsny["b_breached"], dsny["b_on_time_rate"]) == ("25", "10", "0.6")
    assert (float(dsny["on_time_rate_b_minus_a"]), dsny["breached_b_minus_a"]) == (pytest.approx(-0.2), "5")
    assert dsny["few_settled"] == "false"
    assert rows[("agency", "DOT")]["few_settled"] == "true"
    city = rows[("city", "nyc")]
    assert (city["a_met"], city["b_met"], city["breached_b_minus_a"]) == ("48", "39", "9")
    assert float(city["on_time_rate_b_minus_a"]) == pytest.approx(39 / 53 - 48 / 53, abs=1e-4)
    assert rows[("community_district", "301")]["breached_b_minus_a"] == "5"
    assert rows[("borough", "Queens")]["b_on_time_rate"] == "0.96"
    assert [key for breakdown, key in rows if breakdown == "agency"] == ["DSNY", "NYPD", "DOT"]


def test_the_table_ranks_drops_and_marks_small_groups(runs, settings, capsys):
    code, out, err = run(settings, capsys, [str(path) for path in runs])
    assert code == 0, err
    assert re.search(r"^A\s+\S*replay-a\.sqlite3\s+all requests, 2024-01-10 to 2024-01-11$", out, re.M)
    assert re.search(r"^B\s+\S*replay-b\.sqlite3\s", out, re.M)
    agencies = out[out.index("by agency"):out.index("by borough")]
    assert [line.split()[0] for line in agencies.splitlines()[3:6]] == ["DSNY", "NYPD", "DOT"]  # not DOT's -100
    assert re.search(r"^DSNY\s+Department of Sanitation\s+25\s+80\.0%\s+5\s+25\s+60\.0%\s+10\s+-20\.0 pp\s+\+5$",
                     agencies, re.M)
    assert re.search(r"^DOT \*\s+Department of Transportation\s+3\s+100\.0%\s+0\s+3\s+0\.0%\s+3\s+-100\.0 pp\s+\+3$",
                     agencies, re.M)
    assert ("* 1 of 3 groups has 1 to 19 settled resolve goals in A or in B, under the minimum count of 20: too "
            "few for an on-time rate that holds") in agencies
    assert "by community district" in out and "-17.0 pp" in out


def test_the_page_highlights_ranked_groups_only(runs, settings, capsys, tmp_path):
    target = tmp_path / "compare.html"
    code, out, err = run(settings, capsys, runs, fmt="html", out_path=target)
    assert code == 0, err
    assert str(target) in out
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert re.search(r'<tr><td class="k">DSNY</td>.*?<td class="bad">-20\.0 pp</td><td class="bad">\+5</td>', page)
    [dot] = re.findall(r'<tr class="few"><td class="k">DOT \*</td>.*?</tr>', page)
    assert "bad" not in dot and "-100.0 pp" in dot
    assert "1 of 3 groups has 1 to 19 settled resolve goals in A or in B" in page


def test_a_lower_minimum_ranks_the_small_group_first(runs, settings, capsys):
    code, out, _ = run(settings, capsys, runs, fmt="csv", min_count=3)
    assert code == 0
    assert [key for breakdown, key in csv_rows(out) if breakdown == "agency"] == ["DOT", "DSNY", "NYPD"]


def test_the_command_line(runs, settings, capsys):
    path_a, path_b = runs
    args = cli_service.parser().parse_args(["report", "--compare", str(path_a), str(path_b), "--csv", "-"])
    assert args.compare == [str(path_a), str(path_b)] and args.read_model is None
    assert args.handler(args, settings) == 0
    assert csv_rows(capsys.readouterr().out)[("agency", "NYPD")]["breached_b_minus_a"] == "1"


def test_run_b_on_postgresql(runs, postgres_engine, settings, capsys):
    path_a, path_b = runs
    insert(postgres_engine, **RUN_B)
    _, on_sqlite, _ = run(settings, capsys, [path_a, path_b], fmt="csv")
    code, on_postgres, err = run(settings, capsys, [path_a, postgres_engine.url.render_as_string(False)], fmt="csv")
    assert code == 0, err
    assert on_postgres == on_sqlite


def test_runs_of_different_jurisdictions_are_refused(make_read_model, runs, settings, capsys):
    path_a, _ = runs
    other, engine = make_read_model("replay-springfield.sqlite3")
    insert(engine, jurisdiction_id="springfield", **RUN_B)
    code, _, err = run(settings, capsys, [path_a, other])
    assert code == 2 and "no jurisdiction in common" in err
    assert run(settings, capsys, [path_a, settings.data_dir / "missing.sqlite3"])[0] == 2
