"""The projection for bounded data (replays): the same rules as `projection`, applied to rows held in memory and
written in batches (executemany, one transaction per batch) instead of a few statements per record.

`projection.apply` takes a `BulkStore` where it takes a connection: its SQL primitives (insert if new, read the
current row, update it) hand over to the store, so no rule is written twice. A batch upserts the rows it changed
and inserts its history rows; closed requests then leave memory, so a city's year fits in bounded memory (a later
record for one of them reads its row back from the database).
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from services.readmodel.exceptions import ProjectionError
from services.readmodel.schema import events, requests

BATCH_RECORDS = 20_000
_REQUEST_COLUMNS = tuple(c.name for c in requests.columns)
_EVENT_COLUMNS = tuple(c.name for c in events.columns)
_DEFAULTS = {name: None for name in _REQUEST_COLUMNS} | {"routed": False}


class BulkStore:
    """Rows of `requests` and `request_events` on their way to one database, in batches."""

    def __init__(self, engine: Engine, *, batch_records: int = BATCH_RECORDS) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ProjectionError(f"the read model runs on SQLite or PostgreSQL, not {engine.dialect.name}")
        self.engine = engine
        self.batch_records = batch_records
        self.rows: dict[str, dict] = {}             # request rows in memory
        self.seen: dict[str, set[str]] = {}         # event ids applied, per request in memory
        self.dirty: set[str] = set()
        self.pending_events: list[dict] = []
        self.records = 0
        self.written = 0                            # request rows written so far (upserts)
        with engine.connect() as conn:
            self._database_empty = conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar() == 0
        self._evicted: set[str] = set()

    # ---- what projection's SQL primitives call ----------------------------------------------------------------

    def inserted(self, table: sa.Table, values: dict) -> bool:
        """Insert if new; True when it was."""
        if table is events:
            ids = self.seen.get(values["request_id"])
            if ids is None:
                ids = self.seen[values["request_id"]] = self._event_ids(values["request_id"])
            if values["event_id"] in ids:
                return False
            ids.add(values["event_id"])
            self.pending_events.append({name: values.get(name) for name in _EVENT_COLUMNS})
            return True
        request_id = values["request_id"]
        if request_id in self.rows or self._load(request_id):
            return False
        self.rows[request_id] = {**_DEFAULTS, **values}
        self.dirty.add(request_id)
        return True

    def current(self, request_id: str) -> dict:
        if request_id not in self.rows and not self._load(request_id):
            raise KeyError(request_id)
        return self.rows[request_id]

    def update(self, request_id: str, values: dict) -> None:
        self.current(request_id).update(values)
        self.dirty.add(request_id)

    # ---- batches --------------------------------------------------------------------------------------------

    def applied(self) -> None:
        """One record was applied: write a batch when enough have been."""
        self.records += 1
        if self.records % self.batch_records == 0:
            self.flush()

    def flush(self) -> None:
        """Write the changed rows and the new history rows in one transaction; closed requests leave memory."""
        changed = [self.rows[request_id] for request_id in self.dirty]
        with self.engine.begin() as conn:
            if changed:
                conn.execute(self._upsert(conn), changed)
            if self.pending_events:
                conn.execute(self._insert_new(conn, events), self.pending_events)
        self.written += len(changed)
        self.dirty.clear()
        self.pending_events = []
        for request_id in [k for k, row in self.rows.items() if row["open311_status"] == "closed"]:
            del self.rows[request_id]
            self.seen.pop(request_id, None)
            self._evicted.add(request_id)

    def _event_ids(self, request_id: str) -> set[str]:
        """The event ids of a request written before (none for a request this store has not written yet)."""
        if self._database_empty and request_id not in self._evicted:
            return set()
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(events.c.event_id).where(events.c.request_id == request_id)).scalars())

    def _load(self, request_id: str) -> bool:
        """Read a row written before (by an earlier batch, or before this store) into memory."""
        if self._database_empty and request_id not in self._evicted:
            return False
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(requests).where(requests.c.request_id == request_id)).mappings().first()
        if row is None:
            return False
        self.rows[request_id] = dict(row)
        return True

    @staticmethod
    def _module(conn):
        return postgresql if conn.dialect.name == "postgresql" else sqlite

    def _upsert(self, conn):
        statement = self._module(conn).insert(requests)
        return statement.on_conflict_do_update(
            index_elements=[requests.c.request_id],
            set_={name: statement.excluded[name] for name in _REQUEST_COLUMNS if name != "request_id"})

    def _insert_new(self, conn, table: sa.Table):
        return self._module(conn).insert(table).on_conflict_do_nothing()
