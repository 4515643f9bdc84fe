"""`civicflow report`: KPI and equity figures of a period from the read model, as a terminal table, a CSV or a
self-contained HTML page.

main() is the command: it returns an exit code (0 written, 1 nothing to report or the read model unreadable,
2 a bad argument) and explains any failure on stderr in one line.
"""

import dataclasses
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from services.readmodel import db
from services.report import config, figures, queries, views
from services.report import period as report_period
from services.report.exceptions import NothingToReport, ReportError
from streams.jurisdiction import loader as jurisdiction_loader
from streams.jurisdiction.exceptions import JurisdictionConfigError

FORMATS = ("table", "csv", "html")


def main(settings, *, start=None, end=None, fmt: str = "table", out_path: str | Path | None = None,
         jurisdiction_id: str | None = None, min_count: int | None = None) -> int:
    """Make the report of requests requested in [start, end) (dates or ISO 8601 strings; a date or a time
    without offset is the jurisdiction's local time; None: all of the data) and write it: fmt "table" prints it
    (and writes it to out_path too when given); "csv" and "html" go to out_path, or stdout when it is None or
    "-". jurisdiction_id may be omitted when the read model holds one jurisdiction only. min_count: None for
    CIVICFLOW_REPORT_MIN_COUNT (20)."""
    try:
        if fmt not in FORMATS:
            raise ReportError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
        report = build(settings, start=start, end=end, jurisdiction_id=jurisdiction_id,
                       min_count=config.min_count(min_count))
    except NothingToReport as error:
        print(f"civicflow report: {error}", file=sys.stderr)
        return 1
    except ReportError as error:
        print(f"civicflow report: {error}", file=sys.stderr)
        return 2
    except sa_exc.SQLAlchemyError as error:
        print(f"civicflow report: cannot read the read model at {_safe_url(settings.read_model_url)}: "
              f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}", file=sys.stderr)
        return 1
    text = render(report, fmt)
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
        city = report.city
        print(f"wrote the {fmt} report to {target}: {city.received:,} requests received, {city.requests:,} "
              f"accepted ({views.title(report)})", file=sys.stderr if fmt == "table" else sys.stdout)
    return 0


def build(settings, *, start=None, end=None, jurisdiction_id: str | None = None,
          min_count: int = figures.DEFAULT_MIN_COUNT) -> figures.Report:
    """The report's figures; raises NothingToReport when the read model holds no request for them, ReportError
    on a bad argument."""
    engine = db.engine_for(settings.read_model_url)
    try:
        db.migrate(engine)
        with engine.connect() as conn:
            jurisdiction_id = _jurisdiction(queries.jurisdictions(conn), jurisdiction_id, settings)
            names = names_of(settings, jurisdiction_id)
            period = report_period.parse(start, end, tz=names.time_zone)
            outcomes = queries.resolve_outcomes(conn, jurisdiction_id=jurisdiction_id, period=period)
            report = figures.compute(queries.requests_in(conn, jurisdiction_id=jurisdiction_id, period=period),
                                     outcomes, names, period_label="", min_count=min_count)
    finally:
        engine.dispose()
    label = period.label(names.time_zone, first=report.first_requested_at, last=report.last_requested_at)
    if report.city.received == 0:
        raise NothingToReport(f"no requests of {jurisdiction_id} were requested in the period ({label})")
    return dataclasses.replace(report, period_label=label)


def render(report: figures.Report, fmt: str) -> str:
    if fmt == "csv":
        return views.csv_text(report)
    if fmt == "html":
        return views.html_page(report)
    return views.table(report)


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


def _jurisdiction(held: list[str], asked: str | None, settings) -> str:
    if not held:
        raise NothingToReport(f"the read model at {_safe_url(settings.read_model_url)} holds no requests yet "
                              f"(is the projection running?)")
    if asked is not None:
        if asked not in held:
            raise NothingToReport(f"the read model holds no requests of jurisdiction {asked!r} "
                                  f"(it holds: {', '.join(held)})")
        return asked
    if len(held) > 1:
        raise ReportError(f"the read model holds several jurisdictions ({', '.join(held)}): choose one")
    return held[0]


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "(unparsable DATABASE_URL)"
