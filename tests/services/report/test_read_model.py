"""`civicflow report [READ_MODEL]`: a SQLite file (a replay writes one of its own, named after the run) or a
SQLAlchemy URL; without it, the live read model of the settings as before."""

import csv
import io
import sqlite3

import sqlalchemy as sa

from civicflow.services.cli import service as cli_service
from civicflow.services.report import service
from civicflow.streams.settings import Settings

from .conftest import insert

REPLAY_FILE = "replay-nyc311-3f9a1c2e.sqlite3"


def run(settings, capsys, **kwargs):
    code = service.main(settings, **{"fmt": "csv", "min_count": 1, **kwargs})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def city(out: str) -> dict:
    return next(row for row in csv.DictReader(io.StringIO(out)) if row["breakdown"] == "city")


def live_elsewhere(tmp_path) -> Settings:
    """Settings whose live read model is a file nobody made (the report must not make it either)."""
    return Settings(data_dir=tmp_path / "live", database_url=None)


def test_a_replay_file_is_reported_not_the_live_read_model(make_read_model, tmp_path, capsys, monkeypatch):
    path, engine = make_read_model(REPLAY_FILE)
    insert(engine)
    settings = live_elsewhere(tmp_path)
    code, out, err = run(settings, capsys, read_model=path)
    assert code == 0, err
    assert city(out)["received"] == "11"
    monkeypatch.chdir(tmp_path)
    code, out, err = run(settings, capsys, read_model=REPLAY_FILE)          # relative to the working directory
    assert code == 0, err
    assert city(out)["received"] == "11"
    assert not (tmp_path / "live").exists()


def test_a_sqlalchemy_url_names_one_too(make_read_model, tmp_path, capsys):
    path, engine = make_read_model(REPLAY_FILE)
    insert(engine)
    code, out, err = run(live_elsewhere(tmp_path), capsys, read_model=f"sqlite:///{path}")
    assert code == 0, err
    assert city(out)["received"] == "11"


def test_a_postgresql_url_gives_the_same_report(make_read_model, postgres_engine, tmp_path, capsys):
    path, engine = make_read_model(REPLAY_FILE)
    insert(engine)
    insert(postgres_engine)
    settings = live_elsewhere(tmp_path)
    _, on_sqlite, _ = run(settings, capsys, read_model=path, start="2024-01-01", end="2024-02-01")
    code, on_postgres, err = run(settings, capsys, read_model=postgres_engine.url.render_as_string(False),
                                 start="2024-01-01", end="2024-02-01")
    assert code == 0, err
    assert on_postgres == on_sqlite


def test_the_command_line_takes_it_as_an_argument(make_read_model, tmp_path, capsys):
    path, engine = make_read_model(REPLAY_FILE)
    insert(engine)
    args = cli_service.parser().parse_args(["report", str(path), "--csv", "-", "--min-count", "1"])
    assert args.read_model == str(path) and args.compare is None
    assert args.handler(args, live_elsewhere(tmp_path)) == 0
    assert city(capsys.readouterr().out)["received"] == "11"
    assert cli_service.parser().parse_args(["report"]).read_model is None     # the live read model, as before


def test_a_missing_file_is_refused_not_created(tmp_path, capsys):
    settings = live_elsewhere(tmp_path)
    for missing in (tmp_path / "replay-typo.sqlite3", f"sqlite:///{tmp_path / 'replay-typo.sqlite3'}"):
        code, out, err = run(settings, capsys, read_model=missing)
        assert code == 2 and out == ""
        assert "no read model at" in err
    assert not (tmp_path / "replay-typo.sqlite3").exists()


def test_another_database_is_refused_and_left_alone(tmp_path, capsys):
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    code, _, err = run(live_elsewhere(tmp_path), capsys, read_model=other)
    assert code == 2 and "is not a civicflow read model" in err
    assert sa.inspect(sa.create_engine(f"sqlite:///{other}")).get_table_names() == ["notes"]   # no tables added


def test_a_file_that_is_no_database_is_unreadable(tmp_path, capsys):
    export = tmp_path / "export.csv"
    export.write_text("Unique Key,Created Date\n1,2011-01-01\n" * 50)
    code, _, err = run(live_elsewhere(tmp_path), capsys, read_model=export)
    assert code == 1 and f"cannot read the read model at {export}" in err


def test_one_read_model_or_a_comparison(make_read_model, tmp_path, capsys):
    path, _ = make_read_model(REPLAY_FILE)
    code, _, err = run(live_elsewhere(tmp_path), capsys, read_model=path, compare=[path, path])
    assert code == 2 and "not both" in err
