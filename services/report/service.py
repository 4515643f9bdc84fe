"""`civicflow report`: KPI and equity figures of a period from a read model, as a terminal table, a CSV or a
self-contained HTML page; or, with `compare`, the what-if comparison of two read models (two runs).

The read model is the live one from the settings (DATABASE_URL, else the SQLite file in the data directory) unless
one is named: a SQLite file path (a replay writes one of its own, named after the run) or a SQLAlchemy URL. A
named read model must exist and be one: the report brings its schema up to date but never creates one, so a typo
neither makes an empty file nor adds tables to someone else's database.

main() is the command: it returns an exit code (0 written, 1 nothing to report or the read model unreadable,
2 a bad argument) and explains any failure on stderr in one line.
"""

import contextlib
import dataclasses
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, make_url

from civicflow.services.readmodel import db
from civicflow.services.report import compare as report_compare
from civicflow.services.report import config, figures, queries, views
from civicflow.services.report import period as report_period
from civicflow.services.report.exceptions import NothingToReport, ReadModelUnreadable, ReportError
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.jurisdiction.exceptions import JurisdictionConfigError

FORMATS = ("table", "csv", "html")
READ_MODEL_TABLES = ("requests", "request_events")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


@dataclasses.dataclass(frozen=True)
class Source:
    """A read model to report on: its SQLAlchemy URL, how the report names it (never with a password), and
    whether it is the live read model of the settings (created and migrated when missing, as every process
    does)."""

    url: str
    label: str
    live: bool = False


def source_of(settings, target: str | Path | None = None) -> Source:
    """The read model `target` names: None for the live one; a SQLAlchemy URL (anything with "://"); otherwise
    the path of a SQLite file. Raises ReportError when it names no existing read model file."""
    if target is None or str(target) == "":
        return Source(url=settings.read_model_url, label=_safe_url(settings.read_model_url), live=True)
    text = str(target)
    if not _URL.match(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise ReportError(f"no read model at {text}: not a file (give the SQLite file of a read model, e.g. "
                              f"one a replay wrote, or a SQLAlchemy URL)")
        return Source(url=f"sqlite:///{path.resolve()}", label=text)
    try:
        url = make_url(text)
    except sa_exc.ArgumentError as error:
        raise ReportError(f"{text!r} is not a SQLAlchemy URL: {error}") from error
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ReportError(f"{text!r} is an in-memory SQLite database: it holds no read model")
        if not Path(url.database).expanduser().is_file():
            raise ReportError(f"no read model at {text}: {url.database} is not a file")
    return Source(url=text, label=url.render_as_string(hide_password=True))


def main(settings, *, read_model: str | Path | None = None, compare: Sequence[str | Path] | None = None,
         start=None, end=None, fmt: str = "table", out_path: str | Path | None = None,
         jurisdiction_id: str | None = None, min_count: int | None = None) -> int:
    """Make the report of requests requested in [start, end) (dates or ISO 8601 strings; a date or a time
    without offset is the jurisdiction's local time; None: all of the data) on read_model (None: the live one),
    or, with compare=(RUN_A, RUN_B), the comparison of two read models; and write it: fmt "table" prints it
    (and writes it to out_path too when given); "csv" and "html" go to out_path, or stdout when it is None or
    "-". jurisdiction_id may be omitted when the read model holds one jurisdiction only (both share one only).
    min_count: None for CIVICFLOW_REPORT_MIN_COUNT (20)."""
    try:
        if fmt not in FORMATS:
            raise ReportError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
        if compare is not None and read_model is not None:
            raise ReportError("give either a READ_MODEL or --compare RUN_A RUN_B, not both")
        count = config.min_count(min_count)
        if compare is not None:
            if len(compare) != 2:
                raise ReportError(f"--compare takes two read models, RUN_A and RUN_B (got {len(compare)})")
            comparison = build_comparison(settings, *compare, start=start, end=end, jurisdiction_id=jurisdiction_id,
                                          min_count=count)
            text, what = render_comparison(comparison, fmt), "comparison"
            done = f"{comparison.a.label} (A) against {comparison.b.label} (B)"
        else:
            report = build(settings, read_model=read_model, start=start, end=end, jurisdiction_id=jurisdiction_id,
                           min_count=count)
            text, what = render(report, fmt), "report"
            done = (f"{report.city.received:,} requests received, {report.city.requests:,} accepted "
                    f"({views.title(report)})")
    except (NothingToReport, ReadModelUnreadable) as error:
        print(f"civicflow report: {error}", file=sys.stderr)
        return 1
    except ReportError as error:
        print(f"civicflow report: {error}", file=sys.stderr)
        return 2
    to_stdout = out_path is None or str(out_path) == "-"
    if fmt == "table":
        print(text)
    elif to_stdout:
        sys.stdout.write(text)
        sys.stdout.flush()
    if not to_stdout:
        target = Path(out_path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        except OSError as error:
            print(f"civicflow report: cannot write {target}: {error}", file=sys.stderr)
            return 1
        print(f"wrote the {fmt} {what} to {target}: {done}", file=sys.stderr if fmt == "table" else sys.stdout)
    return 0


def build(settings, *, read_model: str | Path | None = None, start=None, end=None,
          jurisdiction_id: str | None = None, min_count: int = figures.DEFAULT_MIN_COUNT) -> figures.Report:
    """The report's figures of one read model (None: the live one); raises NothingToReport when it holds no
    request for them, ReadModelUnreadable when it cannot be read, ReportError on a bad argument."""
    source = source_of(settings, read_model)
    with _connected(source) as conn:
        jurisdiction_id = _jurisdiction(queries.jurisdictions(conn), jurisdiction_id, source)
        names = names_of(settings, jurisdiction_id)
        return _report(conn, source, names, start=start, end=end, min_count=min_count)


def build_comparison(settings, run_a: str | Path, run_b: str | Path, *, start=None, end=None,
                     jurisdiction_id: str | None = None,
                     min_count: int = figures.DEFAULT_MIN_COUNT) -> report_compare.Comparison:
    """The what-if comparison of two read models (paths or URLs) over one jurisdiction and period."""
    a, b = source_of(settings, run_a), source_of(settings, run_b)
    with _connected(a) as conn_a, _connected(b) as conn_b:
        jurisdiction_id = _shared_jurisdiction(queries.jurisdictions(conn_a), queries.jurisdictions(conn_b),
                                               jurisdiction_id, a, b)
        names = names_of(settings, jurisdiction_id)
        report_a = _report(conn_a, a, names, start=start, end=end, min_count=min_count)
        report_b = _report(conn_b, b, names, start=start, end=end, min_count=min_count)
    return report_compare.compare(report_a, report_b, a_label=a.label, b_label=b.label)


def render(report: figures.Report, fmt: str) -> str:
    if fmt == "csv":
        return views.csv_text(report)
    if fmt == "html":
        return views.html_page(report)
    return views.table(report)


def render_comparison(comparison: report_compare.Comparison, fmt: str) -> str:
    if fmt == "csv":
        return views.comparison_csv(comparison)
    if fmt == "html":
        return views.comparison_html(comparison)
    return views.comparison_table(comparison)


def names_of(settings, jurisdiction_id: str) -> figures.Names:
    """Agency and service names, time zone and boundary layers from the jurisdiction's configuration; codes
    only (and UTC) when it cannot be loaded, with a warning on stderr."""
    try:
        jurisdiction = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir).get(jurisdiction_id)
    except (JurisdictionConfigError, OSError) as error:
        print(f"civicflow report: warning: jurisdictions not loaded, codes shown instead of names: "
              f"{str(error).splitlines()[0]}", file=sys.stderr)
        jurisdiction = None
    if jurisdiction is None:
        return figures.Names(jurisdiction_id=jurisdiction_id, jurisdiction_name=jurisdiction_id)
    return figures.Names(
        jurisdiction_id=jurisdiction_id, jurisdiction_name=jurisdiction.name,
        time_zone=ZoneInfo(jurisdiction.time_zone),
        agencies={code: agency.name for code, agency in jurisdiction.agency_names.items()},
        services={code: service.service_name for code, service in jurisdiction.services.items()},
        layers=tuple(layer.name for layer in jurisdiction.geography.layers))


def _report(conn: Connection, source: Source, names: figures.Names, *, start, end,
            min_count: int) -> figures.Report:
    jurisdiction_id = names.jurisdiction_id
    period = report_period.parse(start, end, tz=names.time_zone)
    outcomes = queries.resolve_outcomes(conn, jurisdiction_id=jurisdiction_id, period=period)
    report = figures.compute(queries.requests_in(conn, jurisdiction_id=jurisdiction_id, period=period),
                             outcomes, names, period_label="", min_count=min_count)
    label = period.label(names.time_zone, first=report.first_requested_at, last=report.last_requested_at)
    if report.city.received == 0:
        where = "" if source.live else f" in {source.label}"
        raise NothingToReport(f"no requests of {jurisdiction_id} were requested in the period ({label}){where}")
    return dataclasses.replace(report, period_label=label)


@contextlib.contextmanager
def _connected(source: Source) -> Iterator[Connection]:
    """A connection to the source's read model, its schema up to date. Any database error on the way, or while
    the caller reads, becomes ReadModelUnreadable naming the source."""
    engine = db.engine_for(source.url)
    try:
        if not source.live:
            _check_read_model(engine, source)
        db.migrate(engine)
        with engine.connect() as conn:
            yield conn
    except sa_exc.SQLAlchemyError as error:
        first = str(error).splitlines()[0] if str(error) else ""
        raise ReadModelUnreadable(f"cannot read the read model at {source.label}: {type(error).__name__}: "
                                  f"{first}") from error
    finally:
        engine.dispose()


def _check_read_model(engine, source: Source) -> None:
    tables = set(sa.inspect(engine).get_table_names())
    missing = [name for name in READ_MODEL_TABLES if name not in tables]
    if missing:
        raise ReportError(f"{source.label} is not a civicflow read model (no {' or '.join(missing)} table)")


def _jurisdiction(held: list[str], asked: str | None, source: Source) -> str:
    if not held:
        hint = " yet (is the projection running?)" if source.live else ""
        raise NothingToReport(f"the read model at {source.label} holds no requests{hint}")
    if asked is not None:
        if asked not in held:
            raise NothingToReport(f"the read model at {source.label} holds no requests of jurisdiction "
                                  f"{asked!r} (it holds: {', '.join(held)})")
        return asked
    if len(held) > 1:
        raise ReportError(f"the read model at {source.label} holds several jurisdictions ({', '.join(held)}): "
                          f"choose one")
    return held[0]


def _shared_jurisdiction(held_a: list[str], held_b: list[str], asked: str | None, a: Source, b: Source) -> str:
    """The one jurisdiction both read models are compared on: the one asked, else the only one they share."""
    if asked is not None:
        _jurisdiction(held_a, asked, a)
        return _jurisdiction(held_b, asked, b)
    for held, source in ((held_a, a), (held_b, b)):
        if not held:
            _jurisdiction(held, None, source)
    shared = [name for name in held_a if name in held_b]
    if not shared:
        raise ReportError(f"the two read models hold no jurisdiction in common (A {a.label}: {', '.join(held_a)}; "
                          f"B {b.label}: {', '.join(held_b)})")
    if len(shared) > 1:
        raise ReportError(f"the two read models share several jurisdictions ({', '.join(shared)}): choose one")
    return shared[0]


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "(unparsable DATABASE_URL)"
