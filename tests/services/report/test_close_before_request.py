"""A request whose recorded close precedes its request (bad source data) is left out of every time figure, so
none is ever negative, and the report says how many were left out; on SQLite and PostgreSQL."""

import csv
import io
import re

import pytest

from civicflow.services.report import service
from civicflow.streams.settings import Settings

from .conftest import at, insert

# DSNY closes after 2 and 4 hours; DOT's only request was "closed" 30 hours before it was made.
ROWS = [
    ("g1", "DSNY", "sanitation-condition", "phone", ("Brooklyn", "301"), at("2024-01-05T15:00"), 2, "closed"),
    ("g2", "DSNY", "sanitation-condition", "phone", ("Brooklyn", "301"), at("2024-01-06T15:00"), 4, "closed"),
    ("x1", "DOT", "bridge-condition", "web", ("Queens", "401"), at("2024-01-07T15:00"), -30, "closed"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, engine, tmp_path):
    chosen = engine if request.param == "sqlite" else request.getfixturevalue("postgres_engine")
    insert(chosen, rows=ROWS, history=[])
    return Settings(data_dir=tmp_path / "data", database_url=chosen.url.render_as_string(hide_password=False))


def run(settings, capsys, **kwargs):
    code = service.main(settings, **{"fmt": "table", "min_count": 1, **kwargs})
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def test_no_time_figure_is_negative_and_the_csv_counts_them(settings, capsys):
    rows = {(r["breakdown"], r["key"]): r for r in csv.DictReader(io.StringIO(run(settings, capsys, fmt="csv")))}
    for row in rows.values():
        for column in ("median_hours", "p90_hours"):
            assert row[column] == "" or float(row[column]) >= 0, (row["key"], column, row[column])
    city, dot = rows[("city", "nyc")], rows[("agency", "DOT")]
    assert (city["closed"], float(city["median_hours"]), city["closed_before_requested"]) == ("2", 3.0, "1")
    assert (dot["closed"], dot["median_hours"], dot["closed_before_requested"]) == ("0", "", "1")
    assert rows[("community_district", "401")]["closed_before_requested"] == "1"
    assert rows[("agency", "DSNY")]["closed_before_requested"] == "0"


def test_the_table_and_the_page_say_how_many_were_left_out(settings, capsys, tmp_path):
    out = run(settings, capsys)
    assert re.search(r"^closed before requested \(left out of times\)\s+1$", out, re.M)
    note = ("1 closed request is left out of every time to close: its recorded close precedes its request "
            "(bad source data).")
    assert note in out
    assert re.search(r"^median time to close\s+3\.0 h$", out, re.M)
    target = tmp_path / "r.html"
    run(settings, capsys, fmt="html", out_path=target)
    assert note in target.read_text(encoding="utf-8")
