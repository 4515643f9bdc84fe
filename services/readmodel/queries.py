"""Read functions on the read model (the Open311 API's queries): plain functions on a SQLAlchemy Connection.

Every row comes back as a dict whose time columns are aware UTC datetimes (SQLite hands stored times back naive;
they are UTC by the schema's rule). Times passed in may carry any offset: they are compared in UTC.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from civicflow.services.readmodel import times as readmodel_times
from civicflow.services.readmodel.schema import events, requests

DEFAULT_WINDOW = timedelta(days=90)   # GeoReport v2: without dates, the last 90 days...
MAX_PAGE_SIZE = 1000                  # ...and at most 1,000 requests
TRANSITION = "transition"
_CHUNK = 500                          # ids per IN (...) list: far below every database's bound-parameter limit






def get_request(conn: Connection, request_id: str) -> dict | None:
    """The request's row, or None when the read model does not hold it (yet)."""
    found = conn.execute(sa.select(requests).where(requests.c.request_id == request_id)).mappings().first()
    return None if found is None else readmodel_times.normalized(found)


def list_requests(conn: Connection, *, ids: Sequence[str] | None = None, service_codes: Sequence[str] | None = None,
                  start: datetime | None = None, end: datetime | None = None, statuses: Sequence[str] | None = None,
                  jurisdiction_id: str | None = None, updated_after: datetime | None = None,
                  updated_before: datetime | None = None, page: int = 1, page_size: int = MAX_PAGE_SIZE,
                  now: datetime | None = None) -> list[dict]:
    """Requests, newest first.

    With ids, exactly those requests (whatever their status, rejected ones included), and every other filter is
    ignored, as GeoReport v2 says of service_request_id. Without ids, rejected submissions are left out, and:
    start/end bound requested_at (both inclusive); only start → the 90 days from it; only end → the 90 days up to
    it; no start, end, updated_after or updated_before → the last 90 days before now. updated_after/updated_before
    bound updated_at (inclusive). statuses are Open311 statuses (open, closed). page counts from 1; page_size is
    capped at 1,000.
    """
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    page = max(1, page)
    query = sa.select(requests)
    if ids:
        query = query.where(requests.c.request_id.in_(list(dict.fromkeys(ids))[:MAX_PAGE_SIZE]))
    else:
        query = query.where(requests.c.status != "rejected")
        start, end = window(start=start, end=end, dated=updated_after is not None or updated_before is not None,
                            now=now)
        if start is not None:
            query = query.where(requests.c.requested_at >= readmodel_times.utc(start))
        if end is not None:
            query = query.where(requests.c.requested_at <= readmodel_times.utc(end))
        if updated_after is not None:
            query = query.where(requests.c.updated_at >= readmodel_times.utc(updated_after))
        if updated_before is not None:
            query = query.where(requests.c.updated_at <= readmodel_times.utc(updated_before))
        if service_codes:
            query = query.where(requests.c.service_code.in_(list(service_codes)))
        if statuses:
            query = query.where(requests.c.open311_status.in_(list(statuses)))
        if jurisdiction_id is not None:
            query = query.where(requests.c.jurisdiction_id == jurisdiction_id)
    query = (query.order_by(requests.c.requested_at.desc(), requests.c.request_id)
             .limit(page_size).offset((page - 1) * page_size))
    return [readmodel_times.normalized(row) for row in conn.execute(query).mappings()]


def window(*, start: datetime | None, end: datetime | None, dated: bool = False,
           now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """The requested_at window GeoReport v2 gives a query: at most 90 days, the last 90 without any date
    (dated: the query filters on updated_at instead, so it needs no default window)."""
    if start is not None and end is None:
        return start, start + DEFAULT_WINDOW
    if end is not None and start is None:
        return end - DEFAULT_WINDOW, end
    if start is None and end is None and not dated:
        now = readmodel_times.utc(now) or datetime.now(timezone.utc)
        return now - DEFAULT_WINDOW, None
    return start, end


def history(conn: Connection, request_ids: Iterable[str]) -> dict[str, list[dict]]:
    """Every event of each request in time order ({request id: [event]}; a request without events has an empty
    list). Transitions (kind 'transition') are the agency updates: the Open311 notes."""
    wanted = list(dict.fromkeys(request_ids))
    out: dict[str, list[dict]] = {request_id: [] for request_id in wanted}
    for offset in range(0, len(wanted), _CHUNK):
        chunk = wanted[offset:offset + _CHUNK]
        query = (sa.select(events).where(events.c.request_id.in_(chunk))
                 .order_by(events.c.occurred_at, events.c.recorded_at, events.c.event_id))
        for row in conn.execute(query).mappings():
            out[row["request_id"]].append(readmodel_times.normalized(row))
    return out


def list_updates(conn: Connection, *, start: datetime | None, end: datetime | None,
                 jurisdiction_id: str | None = None, limit: int = MAX_PAGE_SIZE) -> list[dict]:
    """Accepted agency updates (transitions) that occurred within [start, end], oldest first, each with its
    request's jurisdiction_id and service_code (FixMyStreet's servicerequestupdates)."""
    query = (sa.select(events, requests.c.jurisdiction_id, requests.c.service_code)
             .join(requests, requests.c.request_id == events.c.request_id)
             .where(events.c.kind == TRANSITION))
    if start is not None:
        query = query.where(events.c.occurred_at >= readmodel_times.utc(start))
    if end is not None:
        query = query.where(events.c.occurred_at <= readmodel_times.utc(end))
    if jurisdiction_id is not None:
        query = query.where(requests.c.jurisdiction_id == jurisdiction_id)
    query = query.order_by(events.c.occurred_at, events.c.event_id).limit(max(1, min(limit, MAX_PAGE_SIZE)))
    return [readmodel_times.normalized(row) for row in conn.execute(query).mappings()]
