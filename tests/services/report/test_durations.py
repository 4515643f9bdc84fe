"""Durations read in the unit that fits each (minutes under 2 hours, hours under 2 days, days beyond), never
"0.0 hours"; the CSV keeps hours, named in its header, so that its values stay comparable."""

import csv
import io
import re

import pytest

from civicflow.services.report import service, units

from .conftest import batch, insert, joined


@pytest.mark.parametrize(("hours", "text"), [
    (35 / 60, "35 min"), (5.2, "5.2 h"), (3.1 * 24, "3.1 d"), (0.0, "0 min"), (10 / 3600, "<1 min"),
    (1.99, "119 min"), (2.0, "2.0 h"), (47.9, "47.9 h"), (48.0, "2.0 d"), (24 * 1234.5, "1,234.5 d"),
    (None, "–")])
def test_each_duration_in_the_unit_that_fits(hours, text):
    assert units.duration(hours) == text


@pytest.mark.parametrize(("hours", "text"), [
    (-35 / 60, "-35 min"), (35 / 60, "+35 min"), (-5.2, "-5.2 h"), (72.0, "+3.0 d"), (0.0, "0 min"),
    (-10 / 3600, "-<1 min")])
def test_gaps_keep_their_sign(hours, text):
    assert units.duration(hours, signed=True) == text


@pytest.fixture
def quick(engine):
    """Three closes after 35 minutes (DSNY) and one after 3.1 days (DOT): city median 35 minutes."""
    insert(engine, **joined(batch("s", 3, agency="DSNY", place=("Brooklyn", "301"), hours=35 / 60),
                            batch("t", 1, agency="DOT", place=("Queens", "401"), hours=3.1 * 24)))
    return engine


def run(settings, capsys, **kwargs):
    code = service.main(settings, **{"fmt": "table", "min_count": 1, **kwargs})
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def test_the_table_prints_minutes_hours_and_days(quick, settings, capsys):
    out = run(settings, capsys)
    assert re.search(r"^median time to close\s+35 min$", out, re.M)
    assert re.search(r"^DSNY\s+Department of Sanitation\s+3\s+3\s+0\s+0\s+0\s+–\s+35 min\s+35 min\s+0 min\s+1\.00$",
                     out, re.M)
    assert re.search(r"^DOT\s+Department of Transportation\s+1\s+1\s+0\s+0\s+0\s+–\s+3\.1 d\s+3\.1 d\s+\+3\.1 d",
                     out, re.M)
    assert "0.0" not in out.replace("0.0%", "") and "hours to close" not in out


def test_the_page_prints_them_too(quick, settings, capsys, tmp_path):
    target = tmp_path / "r.html"
    run(settings, capsys, fmt="html", out_path=target)
    page = target.read_text(encoding="utf-8")
    assert "<b>35 min</b><span>median time to close</span>" in page
    assert "<td>3.1 d</td>" in page and "0.0 hours" not in page and "0.6 hours" not in page


def test_the_csv_keeps_hours_and_says_so(quick, settings, capsys):
    out = run(settings, capsys, fmt="csv")
    header = out.splitlines()[0].split(",")
    assert {"median_hours", "p90_hours", "gap_hours"} <= set(header)
    rows = {(r["breakdown"], r["key"]): r for r in csv.DictReader(io.StringIO(out))}
    assert float(rows[("agency", "DSNY")]["median_hours"]) == pytest.approx(35 / 60, abs=1e-4)
    assert float(rows[("agency", "DOT")]["median_hours"]) == pytest.approx(74.4)
    assert float(rows[("city", "nyc")]["median_hours"]) == pytest.approx(35 / 60, abs=1e-4)
