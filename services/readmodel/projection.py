"""Projection of the platform's records into the read model: pure functions on a Connection in a transaction.

Every record first gets its row in `request_events`, keyed by the platform's deterministic event id and inserted
with ON CONFLICT DO NOTHING; only a record whose event row was new changes `requests`. A re-delivered record is
therefore a no-op, and the consumer may apply a batch again after a crash (at-least-once delivery, exactly-once
effect). The same code runs on SQLite and PostgreSQL.

Topics are read concurrently, so a request's lifecycle events may be applied before its routed record, and a
rejected submission may be applied before or after an accepted one with the same request id. The rules below
give the same final row whatever the order:

- routed fills the descriptive fields; it sets the status fields only on a new row or on a row that so far only
  says the request was rejected;
- lifecycle events own the status fields; the first one creates a minimal row that the routed record fills;
- a rejected submission only ever creates a row, it never overwrites one.

No personal contact data is stored: the routed record's `contact` and the rejected submission's contact fields
are never read.
"""

import functools
import json
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from civicflow.services.readmodel import bulk as readmodel_bulk
from civicflow.services.readmodel import times as readmodel_times
from civicflow.services.readmodel.exceptions import ProjectionError
from civicflow.services.readmodel.schema import events, requests

TOPIC_KINDS = ("routed", "rejected", "lifecycle")
# Kinds of lifecycle events that move the request (the others only touch updated_at and expected_at).
STATUS_KINDS = frozenset({"opened", "transition"})

# (jurisdiction_id, service_code) -> (service_name, service_group): fills names the record does not carry.
Catalog = Mapping[tuple[str, str], tuple[str, str | None]]


# ---- time ----------------------------------------------------------------------------------------------------





# ---- catalog -------------------------------------------------------------------------------------------------

def catalog_of(jurisdictions: Mapping) -> dict[tuple[str, str], tuple[str, str | None]]:
    """The service names of loaded jurisdictions ({id: Jurisdiction}), for rows the routed record has not
    filled yet (rejected submissions, requests whose lifecycle events came first)."""
    return {(jid, code): (service.service_name, service.group)
            for jid, jurisdiction in jurisdictions.items() for code, service in jurisdiction.services.items()}


# ---- entry point ---------------------------------------------------------------------------------------------

def apply(conn: Connection, *, topic_kind: str, record: dict, now: datetime, catalog: Catalog | None = None) -> bool:
    """Apply one decoded record of the routed, rejected or lifecycle topic; False when its event id was
    already applied (nothing changed)."""
    if topic_kind == "routed":
        return apply_routed(conn, record, now=now, catalog=catalog)
    if topic_kind == "rejected":
        return apply_rejected(conn, record, now=now, catalog=catalog)
    if topic_kind == "lifecycle":
        return apply_lifecycle(conn, record, now=now, catalog=catalog)
    raise ProjectionError(f"unknown topic kind {topic_kind!r} (expected one of {', '.join(TOPIC_KINDS)})")


# ---- routed --------------------------------------------------------------------------------------------------

def apply_routed(conn: Connection, record: dict, *, now: datetime, catalog: Catalog | None = None) -> bool:
    """An accepted request: its descriptive fields, and its first status when no lifecycle event came first."""
    request, enrichment, routing = record["request"], record["enrichment"], record["routing"]
    status = "triage" if routing["outcome"] == "triage" else "open"
    if not _event(conn, record["event_id"], request_id=record["request_id"], kind="routed", status=status,
                  open311_status="open", agency=routing["agency"], note=None, goal=None,
                  occurred_at=record["routed_at"], now=now):
        return False
    requested_at = readmodel_times.utc(request["submitted_at"])
    descriptive = {
        "jurisdiction_id": record["jurisdiction_id"],
        "external_id": request["external_id"],
        "service_code": request["service_code"],
        "service_name": request["service_name"],
        "service_group": request["service_group"],
        "queue": routing["queue"],
        "channel": request["channel"],
        "language": request["language"],
        "priority": enrichment["priority"],
        "description": request["description"],
        "lat": request["lat"],
        "long": request["long"],
        "address": request["address_string"],
        "address_id": request["address_id"],
        "media_url": request["media_url"],
        "districts": _json_object(enrichment["districts"]),
        "duplicate_of": enrichment["duplicate_of"],
        "import_warnings": json.dumps(record["warnings"]) if record.get("warnings") else None,
        "requested_at": requested_at,
        "routed": True,
    }
    first_status = {"status": status, "open311_status": "open", "agency": routing["agency"],
                    "updated_at": requested_at, "status_notes": None, "rejection_reasons": None,
                    "expected_at": None, "closed_at": None, "last_event_at": None}
    if _create(conn, {"request_id": record["request_id"], **descriptive, **first_status}):
        return True
    existing = _current(conn, record["request_id"])
    if existing["last_event_at"] is None and existing["status"] == "rejected":
        # Rejected before, accepted now (a corrected resubmission): the acceptance replaces the rejection.
        values = {**descriptive, **first_status}
    else:
        # Lifecycle events came first: they own the status, and a duplicate_of set by a duplicate update (which
        # happened after routing) wins over the one routing found.
        values = {**descriptive, "duplicate_of": existing["duplicate_of"] or descriptive["duplicate_of"]}
    _update(conn, record["request_id"], values)
    return True


# ---- rejected ------------------------------------------------------------------------------------------------

def apply_rejected(conn: Connection, record: dict, *, now: datetime, catalog: Catalog | None = None) -> bool:
    """A rejected submission becomes a closed request with its reasons; a rejected agency update only adds an
    event to the request's history."""
    reasons = [{"code": r["code"], "message": r["message"], "field": r["field"]} for r in record["reasons"]]
    summary = "Not accepted: " + "; ".join(r["message"] for r in reasons) if reasons else "Not accepted."
    update = record.get("update")
    if update is not None:
        return _event(conn, record["event_id"], request_id=record["request_id"], kind="update_rejected",
                      status=None, open311_status=None, agency=update["agency"], note=summary, goal=None,
                      occurred_at=record["rejected_at"], now=now)
    if not _event(conn, record["event_id"], request_id=record["request_id"], kind="rejected", status="rejected",
                  open311_status="closed", agency=None, note=summary, goal=None,
                  occurred_at=record["rejected_at"], now=now):
        return False
    submission = record["submission"]
    if submission is None or not record["request_id"]:
        return True  # nothing to show a request under: the history keeps the event
    service_name, service_group = _names(catalog, submission["jurisdiction_id"], submission["service_code"])
    # Only the descriptive fields: email, phone, first_name, last_name, device_id and account_id are never read.
    _create(conn, {
        "request_id": record["request_id"],
        "jurisdiction_id": submission["jurisdiction_id"],
        "external_id": submission["external_id"],
        "service_code": submission["service_code"],
        "service_name": service_name,
        "service_group": service_group,
        "status": "rejected",
        "open311_status": "closed",
        "status_notes": summary,
        "channel": submission["channel"],
        "language": submission["language"],
        "description": submission["description"],
        "lat": submission["lat"],
        "long": submission["long"],
        "address": submission["address_string"],
        "address_id": submission["address_id"],
        "media_url": submission["media_url"],
        "rejection_reasons": json.dumps(reasons),
        "requested_at": readmodel_times.utc(submission["submitted_at"]),
        "updated_at": readmodel_times.utc(record["rejected_at"]),
        "routed": False,
    })  # an existing row (the request was accepted under this id) stays as it is
    return True


# ---- lifecycle -----------------------------------------------------------------------------------------------

def apply_lifecycle(conn: Connection, record: dict, *, now: datetime, catalog: Catalog | None = None) -> bool:
    """A lifecycle event: its history row, then the request's status (unless an event newer than this one has
    been applied already)."""
    update = record["update"]
    note = update["note"] if update is not None else None
    kind = record["kind"]
    if not _event(conn, record["event_id"], request_id=record["request_id"], kind=kind, status=record["status"],
                  open311_status=record["open311_status"], agency=record["agency"], note=note,
                  goal=record["goal"], occurred_at=record["occurred_at"], now=now):
        return False
    occurred_at = readmodel_times.utc(record["occurred_at"])
    closed = record["open311_status"] == "closed"
    service_name, service_group = _names(catalog, record["jurisdiction_id"], record["service_code"])
    minimal = {
        "request_id": record["request_id"],
        "jurisdiction_id": record["jurisdiction_id"],
        "external_id": record["external_id"],
        "service_code": record["service_code"],
        "service_name": service_name,
        "service_group": service_group,
        "channel": record["channel"],
        "priority": record["priority"],
        "districts": _json_object(record["districts"]),
        "status": record["status"],
        "open311_status": record["open311_status"],
        "agency": record["agency"],
        "status_notes": note if kind == "transition" else None,
        "duplicate_of": _duplicate_of(record),
        "requested_at": occurred_at,
        "updated_at": occurred_at,
        "expected_at": readmodel_times.utc(record["expected_at"]),
        "closed_at": occurred_at if closed else None,
        "last_event_at": occurred_at,
        "routed": False,
    }
    if _create(conn, minimal):
        return True
    existing = _current(conn, record["request_id"])
    last = readmodel_times.utc(existing["last_event_at"])
    if last is not None and occurred_at < last:
        return True  # older than what the row shows: history only
    values = {"updated_at": occurred_at, "last_event_at": occurred_at}
    expected_at = readmodel_times.utc(record["expected_at"])
    still_open = (record["open311_status"] if kind in STATUS_KINDS else existing["open311_status"]) == "open"
    values["expected_at"] = existing["expected_at"] if expected_at is None and still_open else expected_at
    if kind in STATUS_KINDS:
        values.update(status=record["status"], open311_status=record["open311_status"], agency=record["agency"],
                      rejection_reasons=None)
        if existing["status"] == "rejected":
            values["status_notes"] = None  # a lifecycle event means the request was accepted after all
        if kind == "transition" and note:
            values["status_notes"] = note
        if closed:
            values["closed_at"] = existing["closed_at"] if existing["open311_status"] == "closed" and \
                existing["closed_at"] is not None else occurred_at
        else:
            values["closed_at"] = None
        if _duplicate_of(record):
            values["duplicate_of"] = _duplicate_of(record)
    _update(conn, record["request_id"], values)
    return True


def _duplicate_of(record: dict) -> str | None:
    update = record["update"]
    if record["kind"] == "transition" and update is not None and update["status"] == "duplicate":
        return update["duplicate_of"]
    return None


# ---- SQL -----------------------------------------------------------------------------------------------------

def _insert(conn: Connection, table: sa.Table):
    """INSERT ... ON CONFLICT DO NOTHING of the connection's dialect."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise ProjectionError(f"the read model runs on SQLite or PostgreSQL, not {name}")


def _event(conn: Connection, event_id: str, *, request_id: str, kind: str, status: str | None,
           open311_status: str | None, agency: str | None, note: str | None, goal: str | None,
           occurred_at: datetime, now: datetime) -> bool:
    """Insert the record's history row; False when the event id is already there (a re-delivery)."""
    return _inserted(conn, events, dict(
        event_id=event_id, request_id=request_id, kind=kind, status=status, open311_status=open311_status,
        agency=agency, note=note, goal=goal, occurred_at=readmodel_times.utc(occurred_at), recorded_at=readmodel_times.utc(now)))


def _create(conn: Connection, values: dict) -> bool:
    """Insert the request's row unless it exists; True when it was inserted."""
    return _inserted(conn, requests, values)


# Each primitive takes a Connection, or a bulk.BulkStore (replays), which keeps rows in memory and writes them
# in batches: the rules above are the same for both.

def _inserted(conn: Connection, table: sa.Table, values: dict) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING the key: a row comes back only when it was inserted. (The
    rowcount of an INSERT is not reliable through SQLAlchemy 2 and psycopg 3: it reads -1.)"""
    if isinstance(conn, readmodel_bulk.BulkStore):
        return conn.inserted(table, values)
    key = list(table.primary_key.columns)[0]
    return conn.execute(_insert(conn, table).values(**values).returning(key)).first() is not None


def _current(conn: Connection, request_id: str):
    """The request's row, locked until the transaction ends (on PostgreSQL; SQLite has one writer anyway)."""
    if isinstance(conn, readmodel_bulk.BulkStore):
        return conn.current(request_id)
    query = sa.select(requests).where(requests.c.request_id == request_id).with_for_update()
    return conn.execute(query).mappings().one()


def _update(conn: Connection, request_id: str, values: dict) -> None:
    if isinstance(conn, readmodel_bulk.BulkStore):
        conn.update(request_id, values)
        return
    conn.execute(sa.update(requests).where(requests.c.request_id == request_id).values(**values))


def _json_object(value: dict | None) -> str | None:
    return None if value is None else _json_items(tuple(value.items()))


@functools.lru_cache(maxsize=4096)
def _json_items(items: tuple) -> str:
    """JSON of a small flat object (a request's districts: a few thousand combinations in a city), made once."""
    return json.dumps(dict(items), sort_keys=True)


def _names(catalog: Catalog | None, jurisdiction_id: str, service_code: str) -> tuple[str | None, str | None]:
    if catalog is None:
        return None, None
    return catalog.get((jurisdiction_id, service_code), (None, None))
