"""A small read model with hand-computable figures (see the table below), on SQLite in tmp_path.

Accepted requests of January 2024 (New York local time) and their resolve outcome; hours = closed − requested:

    id   agency  service               channel  borough    district  hours  resolve (last settlement)
    r1   DSNY    sanitation-condition  phone    Manhattan  105       2      met
    r2   DSNY    sanitation-condition  web      Manhattan  105       4      met
    r3   DSNY    sanitation-condition  phone    Brooklyn   301       10     breached (acknowledge met: not counted)
    r4   NYPD    noise-residential     phone    Brooklyn   301       20     met, reopened, then breached
    r5   NYPD    noise-residential     web      Brooklyn   302       6      met
    r6   NYPD    noise-residential     mobile   Queens     401       open   none (acknowledge met only): open
    r7   DOT     bridge-condition      web      Queens     401       open   breached (requested Jan 31 22:00 local)

r8 and r9: rejected web submissions of January. r10 (Dec 31 23:00 local) and r11 (Feb 1 01:00 local) fall outside
January; both are closed DSNY requests (100 h, met) that would change every figure if counted.

City: 9 received, 2 rejected, 7 accepted, 5 closed (2, 4, 6, 10, 20 h: median 6, p90 16), met 3, breached 3,
open 1 → on time 50 %.
"""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from civicflow.services.readmodel import db
from civicflow.services.readmodel.schema import events, requests
from civicflow.streams.settings import Settings

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# id, agency, service, channel, (borough, district), requested_at (UTC), hours to close or None, status
REQUESTS = [
    ("r1", "DSNY", "sanitation-condition", "phone", ("Manhattan", "105"), at("2024-01-05T15:00"), 2, "closed"),
    ("r2", "DSNY", "sanitation-condition", "web", ("Manhattan", "105"), at("2024-01-06T15:00"), 4, "resolved"),
    ("r3", "DSNY", "sanitation-condition", "phone", ("Brooklyn", "301"), at("2024-01-07T15:00"), 10, "closed"),
    ("r4", "NYPD", "noise-residential", "phone", ("Brooklyn", "301"), at("2024-01-08T15:00"), 20, "closed"),
    ("r5", "NYPD", "noise-residential", "web", ("Brooklyn", "302"), at("2024-01-09T15:00"), 6, "closed"),
    ("r6", "NYPD", "noise-residential", "mobile", ("Queens", "401"), at("2024-01-10T15:00"), None, "in_progress"),
    ("r7", "DOT", "bridge-condition", "web", ("Queens", "401"), at("2024-02-01T03:00"), None, "acknowledged"),
    ("r8", None, "sanitation-condition", "web", None, at("2024-01-11T15:00"), None, "rejected"),
    ("r9", None, "noise-residential", "web", None, at("2024-01-12T15:00"), None, "rejected"),
    ("r10", "DSNY", "sanitation-condition", "phone", ("Manhattan", "105"), at("2024-01-01T04:00"), 100, "closed"),
    ("r11", "DSNY", "sanitation-condition", "phone", ("Manhattan", "105"), at("2024-02-01T06:00"), 100, "closed"),
]

# request id, kind, goal, hours after requested_at
EVENTS = [
    ("r1", "opened", None, 0), ("r1", "sla_warning", "resolve", 1), ("r1", "sla_met", "resolve", 2),
    ("r2", "sla_met", "resolve", 4),
    ("r3", "sla_met", "acknowledge", 1), ("r3", "sla_breached", "resolve", 8),
    ("r4", "sla_met", "resolve", 3), ("r4", "sla_breached", "resolve", 19),
    ("r5", "sla_met", "resolve", 6),
    ("r6", "sla_met", "acknowledge", 1), ("r6", "sla_warning", "resolve", 2),
    ("r7", "sla_breached", "resolve", 1),
    ("r10", "sla_met", "resolve", 100), ("r11", "sla_met", "resolve", 100),
]


def insert(engine, *, jurisdiction_id: str = "nyc", rows=REQUESTS, history=EVENTS) -> None:
    """Write requests and events straight into the read model's tables."""
    import json

    requested = {}
    with engine.begin() as conn:
        for request_id, agency, service, channel, place, requested_at, hours, status in rows:
            closed_at = requested_at + timedelta(hours=hours) if hours is not None else None
            requested[request_id] = requested_at
            conn.execute(sa.insert(requests).values(
                request_id=request_id, jurisdiction_id=jurisdiction_id, service_code=service,
                service_name=None, status=status,
                open311_status="closed" if status in ("closed", "resolved", "rejected") else "open",
                agency=agency, channel=channel,
                districts=json.dumps({"borough": place[0], "community_district": place[1]}) if place else None,
                requested_at=requested_at, updated_at=closed_at or requested_at, closed_at=closed_at))
        for number, (request_id, kind, goal, hours) in enumerate(history):
            moment = requested[request_id] + timedelta(hours=hours)
            conn.execute(sa.insert(events).values(
                event_id=f"{jurisdiction_id}-e{number}", request_id=request_id, kind=kind, goal=goal,
                occurred_at=moment, recorded_at=moment))


def batch(prefix: str, count: int, *, agency: str, place: tuple[str, str] | None, hours: float | None,
          met: int = 0, breached: int = 0, service: str = "sanitation-condition", channel: str = "phone",
          first: datetime = at("2024-01-10T15:00")) -> tuple[list, list]:
    """count alike requests for insert(): (rows, history), one an hour from `first`, each closed `hours` after
    its request (None: still open); the first `met` have their resolve goal met, the next `breached` breached."""
    rows, history = [], []
    for n in range(count):
        request_id = f"{prefix}{n}"
        rows.append((request_id, agency, service, channel, place, first + timedelta(hours=n), hours,
                     "closed" if hours is not None else "in_progress"))
        if n < met + breached:
            history.append((request_id, "sla_met" if n < met else "sla_breached", "resolve", 1))
    return rows, history


def joined(*batches: tuple[list, list]) -> dict:
    """insert()'s rows and history of several batches (one insert() per read model: its event ids count from 0)."""
    return {"rows": [row for rows, _ in batches for row in rows],
            "history": [event for _, history in batches for event in history]}


@pytest.fixture
def make_read_model(tmp_path):
    """A factory of migrated SQLite read models in files of their own, as a replay writes one per run:
    make_read_model("replay-a.sqlite3") → (path, engine)."""
    engines = []

    def make(name: str):
        path = tmp_path / name
        engine = db.engine_for(f"sqlite:///{path}")
        db.migrate(engine)
        engines.append(engine)
        return path, engine

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def postgres_engine(postgres_url):
    """The session's PostgreSQL database as a fresh, migrated, empty read model."""
    engine = db.engine_for(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    db.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(tmp_path):
    """A migrated, empty read model on SQLite."""
    engine = db.engine_for(f"sqlite:///{tmp_path / 'readmodel.sqlite3'}")
    db.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def filled(engine):
    insert(engine)
    return engine


@pytest.fixture
def settings(tmp_path, engine):
    """Settings on the test read model and the repository's jurisdictions (New York City)."""
    return Settings(data_dir=tmp_path / "data", database_url=str(engine.url))
