"""What the report reads from the read model: plain functions on a SQLAlchemy Connection.

Rows come back with aware UTC times (civicflow.services.readmodel.times), the same on SQLite and PostgreSQL. The period
bounds requested_at: start inclusive, end exclusive.
"""

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from civicflow.services.readmodel import times as readmodel_times
from civicflow.services.readmodel.schema import events, requests
from civicflow.services.report.period import Period

RESOLVE = "resolve"
SETTLED = ("sla_met", "sla_breached")
COLUMNS = (requests.c.request_id, requests.c.status, requests.c.open311_status, requests.c.agency,
           requests.c.service_code, requests.c.service_name, requests.c.channel, requests.c.districts,
           requests.c.requested_at, requests.c.closed_at)


def jurisdictions(conn: Connection) -> list[str]:
    """The jurisdiction ids the read model holds requests of, sorted."""
    query = sa.select(requests.c.jurisdiction_id).distinct().order_by(requests.c.jurisdiction_id)
    return [row[0] for row in conn.execute(query)]


def requests_in(conn: Connection, *, jurisdiction_id: str, period: Period) -> Iterator[dict]:
    """Every request of the jurisdiction requested in the period, rejected ones included (their status is
    'rejected'), with the columns the report uses."""
    query = _within(sa.select(*COLUMNS), jurisdiction_id=jurisdiction_id, period=period)
    names = [column.name for column in COLUMNS]
    utc = readmodel_times.utc
    for values in conn.execute(query.order_by(requests.c.requested_at, requests.c.request_id)):
        row = dict(zip(names, values, strict=True))
        # as readmodel_times.normalized gives them, for the only two time columns read
        row["requested_at"], row["closed_at"] = utc(row["requested_at"]), utc(row["closed_at"])
        yield row


def resolve_outcomes(conn: Connection, *, jurisdiction_id: str, period: Period) -> dict[str, str]:
    """Request id → 'met' or 'breached': the kind of its last sla_met or sla_breached event of the resolve goal
    (a reopened request starts a new cycle, so its latest settlement counts). Requests whose resolve goal was
    never settled are absent."""
    query = (sa.select(events.c.request_id, events.c.kind)
             .join(requests, requests.c.request_id == events.c.request_id)
             .where(events.c.kind.in_(SETTLED), events.c.goal == RESOLVE))
    query = _within(query, jurisdiction_id=jurisdiction_id, period=period)
    query = query.order_by(events.c.request_id, events.c.occurred_at, events.c.recorded_at, events.c.event_id)
    outcomes: dict[str, str] = {}
    for request_id, kind in conn.execute(query):
        outcomes[request_id] = "met" if kind == "sla_met" else "breached"  # later rows overwrite earlier ones
    return outcomes


def _within(query: sa.Select, *, jurisdiction_id: str, period: Period) -> sa.Select:
    query = query.where(requests.c.jurisdiction_id == jurisdiction_id)
    if period.start is not None:
        query = query.where(requests.c.requested_at >= readmodel_times.utc(period.start))
    if period.end is not None:
        query = query.where(requests.c.requested_at < readmodel_times.utc(period.end))
    return query
