"""`civicflow report` end to end on a SQLite read model: the three formats, the period, and the failures."""

import csv
import io
import re
from datetime import datetime, timezone

import sqlalchemy as sa

from civicflow.services.readmodel import db
from civicflow.services.report import service

from .conftest import insert

JANUARY = {"start": "2024-01-01", "end": "2024-02-01"}


def run(settings, capsys, **kwargs):
    """main() with its output; min_count 1 unless given, as every group of the hand-computed read model is below
    the default minimum count (test_minimum_count covers it)."""
    code = service.main(settings, **{"fmt": "table", "out_path": None, "jurisdiction_id": None, "min_count": 1,
                                     **kwargs})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def csv_rows(text: str) -> dict[tuple[str, str], dict]:
    return {(row["breakdown"], row["key"]): row for row in csv.DictReader(io.StringIO(text))}


def test_table_prints_the_figures_with_agency_names(filled, settings, capsys):
    code, out, err = run(settings, capsys, **JANUARY)
    assert code == 0, err
    assert out.startswith("Service requests in New York City (nyc): 2024-01-01 to 2024-01-31")
    assert "Department of Sanitation" in out and "Noise - Residential" in out
    assert re.search(r"^NYPD\s+New York City Police Department\s+3\s+2\s+1\s+1\s+1\s+50\.0%\s+13\.0 h\s+"
                     r"18\.6 h\s+\+7\.0 h\s+2\.17$", out, re.M)
    assert re.search(r"^on-time rate\s+50\.0%$", out, re.M)


def test_csv_is_one_tidy_table(filled, settings, capsys, tmp_path):
    target = tmp_path / "out" / "report.csv"
    code, out, err = run(settings, capsys, fmt="csv", out_path=target, **JANUARY)
    assert code == 0, err
    assert str(target) in out
    text = target.read_text(encoding="utf-8")
    header = text.splitlines()[0].split(",")
    assert header[:2] == ["breakdown", "key"]
    for column in ("requests", "met", "breached", "open", "on_time_rate", "median_hours", "p90_hours", "gap_hours"):
        assert column in header
    rows = csv_rows(text)
    assert [k for k in rows if k[0] == "community_district"] == [("community_district", k)
                                                                 for k in ("301", "302", "105", "401")]
    assert len(rows) == 1 + 3 + 3 + 3 + 3 + 4                    # city, channels, agencies, services, districts
    city = rows[("city", "nyc")]
    assert (city["received"], city["rejected"], city["requests"], city["on_time_rate"]) == ("9", "2", "7", "0.5")
    assert (float(city["median_hours"]), float(city["p90_hours"])) == (6.0, 16.0)
    nypd = rows[("agency", "NYPD")]
    assert (nypd["met"], nypd["breached"], nypd["open"]) == ("1", "1", "1")
    assert (float(nypd["median_hours"]), float(nypd["p90_hours"]), float(nypd["gap_hours"])) == (13.0, 18.6, 7.0)
    assert rows[("borough", "Brooklyn")]["gap_hours"] == "4.0"
    assert rows[("agency", "DOT")]["median_hours"] == ""          # nothing closed: no figure, not zero
    assert rows[("channel", "web")]["received"] == "5" and rows[("channel", "web")]["rejected"] == "2"


def test_csv_goes_to_stdout_without_a_path(filled, settings, capsys):
    code, out, _ = run(settings, capsys, fmt="csv", out_path="-", **JANUARY)
    assert code == 0
    assert csv_rows(out)[("service", "sanitation-condition")]["median_hours"] == "4.0"


def test_html_is_self_contained_with_charts_names_and_figures(filled, settings, capsys, tmp_path):
    target = tmp_path / "report.html"
    code, _, err = run(settings, capsys, fmt="html", out_path=target, **JANUARY)
    assert code == 0, err
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)   # nothing fetched
    assert not re.search(r"<script|<link|<img|@import|url\(\s*['\"]?https?:", page, re.I)
    assert "<title>Service requests in New York City (nyc): 2024-01-01 to 2024-01-31</title>" in page
    assert page.count("<svg") == 4                                # agencies, boroughs, channels, districts
    for name in ("Department of Sanitation", "New York City Police Department", "Department of Transportation",
                 "301 (Brooklyn)", "Noise - Residential"):
        assert name in page
    assert "50.0%" in page and "+9.0" in page and "18.6" in page
    assert "<?xml" not in page and "<metadata>" not in page


def test_all_of_the_data_without_a_period(filled, settings, capsys):
    code, out, _ = run(settings, capsys, fmt="csv")
    assert code == 0
    rows = csv_rows(out)
    assert rows[("city", "nyc")]["received"] == "11"
    assert rows[("agency", "DSNY")]["requests"] == "5"


def test_an_empty_read_model_says_so(engine, settings, capsys):
    code, out, err = run(settings, capsys, fmt="html", out_path=settings.data_dir / "r.html")
    assert code == 1
    assert "holds no requests yet" in err and out == ""
    assert not (settings.data_dir / "r.html").exists()


def test_an_empty_period_says_so(filled, settings, capsys):
    code, _, err = run(settings, capsys, start="2030-01-01", end="2030-02-01")
    assert code == 1
    assert "no requests of nyc were requested in the period (2030-01-01 to 2030-01-31)" in err


def test_bad_arguments_exit_2(filled, settings, capsys):
    assert run(settings, capsys, fmt="pdf")[0] == 2
    code, _, err = run(settings, capsys, start="2024-02-01", end="2024-01-01")
    assert code == 2 and "the period is empty" in err


def test_several_jurisdictions_need_a_choice(filled, settings, capsys):
    insert(filled, jurisdiction_id="springfield",
           rows=[("s1", "ROADS", "pothole", "web", None, datetime(2024, 1, 3, tzinfo=timezone.utc), 5, "closed")],
           history=[])
    code, _, err = run(settings, capsys, **JANUARY)
    assert code == 2 and "springfield" in err and "nyc" in err
    code, out, err = run(settings, capsys, fmt="csv", jurisdiction_id="springfield")
    assert code == 0, err
    rows = csv_rows(out)
    assert rows[("agency", "ROADS")]["name"] == "ROADS"          # not configured: codes stand for names
    assert ("agency", "NYPD") not in rows
    assert run(settings, capsys, jurisdiction_id="atlantis")[0] == 1


def test_same_figures_on_postgresql(filled, settings, capsys, postgres_url):
    engine = db.engine_for(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    db.migrate(engine)
    insert(engine)
    engine.dispose()
    _, on_sqlite, _ = run(settings, capsys, fmt="csv", **JANUARY)
    code, on_postgres, err = run(settings.model_copy(update={"database_url": postgres_url}), capsys, fmt="csv",
                                 **JANUARY)
    assert code == 0, err
    assert on_postgres == on_sqlite


def test_a_period_without_closed_requests_still_makes_a_page(engine, settings, capsys, tmp_path):
    from .conftest import EVENTS, REQUESTS
    insert(engine, rows=[r for r in REQUESTS if r[0] in ("r6", "r7")], history=[e for e in EVENTS
                                                                               if e[0] in ("r6", "r7")])
    target = tmp_path / "open.html"
    code, _, err = run(settings, capsys, fmt="html", out_path=target)
    assert code == 0, err
    page = target.read_text(encoding="utf-8")
    assert page.count("<svg") == 1                                # only the on-time chart (DOT: 0 % of 1)
    assert page.count("no data in the period") == 3
    code, out, _ = run(settings, capsys)
    assert code == 0 and re.search(r"^median time to close\s+–$", out, re.M)
