"""The read model's database: an engine for DATABASE_URL (SQLite file by default), migrated with Alembic."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x63697669  # PostgreSQL advisory lock of db.migrate ("civi")


def engine_for(url: str) -> Engine:
    """An engine; for SQLite the file's directory is created and WAL lets the API read while the projection
    writes."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; safe to call from every process at start, also
    from several at once: they take turns, and the later ones find the schema at head)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as connection:
        _lock_for_migration(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


def _lock_for_migration(connection: Connection) -> None:
    """Hold the database's migration lock until the transaction ends. Without it, processes starting together
    (the API and the projection) both see an empty schema and one fails creating a table the other created."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # The write lock from the start (waits up to the connection's timeout): a deferred transaction that
        # reads first and then writes fails at once with "database is locked" when another one writes.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
