"""The projection for bounded data (replays): the same rules as `projection`, applied to rows held in memory and
written in batches (executemany, one transaction per batch) instead of a few statements per record.

A batch goes to the driver as one executemany per table: the statement is compiled once per store by SQLAlchemy
(its dialect's upsert) and the rows are handed over as plain parameters (tuples in the statement's order on
SQLite, whose driver binds them faster than dicts; dicts on PostgreSQL), with the columns' own bind processors
applied (SQLite's text form of a datetime), so the database holds what SQLAlchemy would have written while
SQLAlchemy's per-row parameter handling (most of a batch's time) is skipped. On SQLite a batch's
transaction does not wait for the disk (`PRAGMA synchronous=OFF`, WAL kept): a replay's read model is rebuilt by
running the replay again, never the live one.

`projection.apply` takes a `BulkStore` where it takes a connection: its SQL primitives (insert if new, read the
current row, update it) hand over to the store, so no rule is written twice. A batch upserts the rows it changed
and inserts its history rows; closed requests then leave memory, so a city's year fits in bounded memory (a later
record for one of them reads its row back from the database).
"""

import operator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from civicflow.services.readmodel.exceptions import ProjectionError
from civicflow.services.readmodel.schema import events, requests

BATCH_RECORDS = 20_000
# A replay's SQLite read model: transactions do not wait for the disk, and the indexes' pages stay in a 64 MiB
# cache (the default 2 MiB makes every insert into request_events' indexes of random ids a page read).
SQLITE_PRAGMAS = ("synchronous=OFF", "cache_size=-65536", "temp_store=MEMORY")
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
        self._evicted: set[int] = set()  # hash() of the ids of requests that left memory: a year's millions fit
        self._upsert_sql = _DriverSql(_upsert(engine.dialect), engine.dialect)
        self._events_sql = _DriverSql(_insert_new(engine.dialect, events), engine.dialect)
        self._request_processors = _processors(requests, engine.dialect)
        self._event_processors = _processors(events, engine.dialect)

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
            self.pending_events.append(values)  # the projection builds every column of the row
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
            if conn.dialect.name == "sqlite":
                for pragma in SQLITE_PRAGMAS:
                    conn.exec_driver_sql(f"PRAGMA {pragma}")
            memo: dict = {}  # a time is written many times (recorded_at, a request's times on each of its events)
            if changed:
                conn.exec_driver_sql(self._upsert_sql.sql, self._upsert_sql.bound(
                    changed, self._request_processors, memo=memo))
            if self.pending_events:
                conn.exec_driver_sql(self._events_sql.sql, self._events_sql.bound(
                    self.pending_events, self._event_processors, memo=memo))
        self.written += len(changed)
        self.dirty.clear()
        self.pending_events = []
        for request_id in [k for k, row in self.rows.items() if row["open311_status"] == "closed"]:
            del self.rows[request_id]
            self.seen.pop(request_id, None)
            self._evicted.add(hash(request_id))

    def _event_ids(self, request_id: str) -> set[str]:
        """The event ids of a request written before (none for a request this store has not written yet)."""
        if self._database_empty and hash(request_id) not in self._evicted:
            return set()  # (a hash shared with an evicted id only costs a query)
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(events.c.event_id).where(events.c.request_id == request_id)).scalars())

    def _load(self, request_id: str) -> bool:
        """Read a row written before (by an earlier batch, or before this store) into memory."""
        if self._database_empty and hash(request_id) not in self._evicted:
            return False
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(requests).where(requests.c.request_id == request_id)).mappings().first()
        if row is None:
            return False
        self.rows[request_id] = dict(row)
        return True


def _module(dialect):
    return postgresql if dialect.name == "postgresql" else sqlite


def _upsert(dialect):
    statement = _module(dialect).insert(requests).values({name: sa.bindparam(name) for name in _REQUEST_COLUMNS})
    return statement.on_conflict_do_update(
        index_elements=[requests.c.request_id],
        set_={name: statement.excluded[name] for name in _REQUEST_COLUMNS if name != "request_id"})


def _insert_new(dialect, table: sa.Table):
    return _module(dialect).insert(table).values({c.name: sa.bindparam(c.name) for c in table.columns}) \
        .on_conflict_do_nothing()


class _DriverSql:
    """A statement as the driver takes it: positional (`?`) on SQLite, named (`%(name)s`) on psycopg."""

    def __init__(self, statement, dialect) -> None:
        if dialect.name == "sqlite":
            compiled = statement.compile(dialect=sqlite.dialect(paramstyle="qmark"))
            self.names: tuple[str, ...] | None = tuple(compiled.positiontup)
        else:
            compiled, self.names = statement.compile(dialect=dialect), None
        self.sql = str(compiled)

    def bound(self, rows: list[dict], processors, *, memo: dict) -> list:
        """The rows as driver parameters: each column's value through its bind processor (once per value and
        column type: `memo`), as a tuple in the statement's order or a dict."""
        if self.names is None:
            return _bound(rows, processors, memo=memo)
        values = operator.itemgetter(*self.names)
        if not processors:
            return [values(row) for row in rows]
        at = {name: n for n, name in enumerate(self.names)}
        converters = tuple((at[name], memo.setdefault(kind, {}), process) for name, kind, process in processors
                           if name in at)  # (position, the converted values of the column's type, processor)
        out = []
        for row in rows:
            row = list(values(row))
            for n, seen, process in converters:
                value = row[n]
                if value is not None:
                    converted = seen.get(value)
                    if converted is None:
                        converted = seen[value] = process(value)
                    row[n] = converted
            out.append(tuple(row))
        return out


def _processors(table: sa.Table, dialect) -> tuple[tuple[str, type, object], ...]:
    """(column, its type, bind processor) for the columns whose values the dialect converts before the driver
    sees them."""
    found = ((c.name, type(c.type), c.type.dialect_impl(dialect).bind_processor(dialect)) for c in table.columns)
    return tuple((name, kind, process) for name, kind, process in found if process is not None)


def _bound(rows: list[dict], processors, *, memo: dict) -> list[dict]:
    """The rows as named driver parameters: each column's value through its bind processor (once per value and
    column type: `memo`)."""
    if not processors:
        return rows
    out = []
    for row in rows:
        row = dict(row)
        for name, kind, process in processors:
            value = row[name]
            if value is not None:
                key = (kind, value)
                converted = memo.get(key)
                if converted is None:
                    converted = memo[key] = process(value)
                row[name] = converted
        out.append(row)
    return out
