"""Read-model fixtures: every projection test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL is CIVICFLOW_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test). A fresh
database civicflow_test_<random> is created for the test session and dropped at its end; each test gets an
empty, freshly migrated schema in it. When the server cannot be reached, the PostgreSQL tests are skipped with
the reason.
"""

import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from services.readmodel import db

POSTGRES_URL = os.environ.get("CIVICFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _admin_connection():
    """An autocommit psycopg connection to the configured database, else to `postgres`."""
    import psycopg

    url = make_url(POSTGRES_URL)
    errors = []
    for database in dict.fromkeys([url.database, "postgres"]):
        try:
            return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                                   dbname=database, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as error:
            errors.append(f"{database}: {str(error).strip()}")
    raise ConnectionError("; ".join(errors))


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a database created for this test session (dropped at its end); skips when unreachable."""
    try:
        admin = _admin_connection()
    except ConnectionError as error:
        pytest.skip(f"PostgreSQL not reachable at {make_url(POSTGRES_URL).render_as_string(hide_password=True)}: "
                    f"{error}")
    name = f"civicflow_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request, tmp_path):
    """An engine on an empty database (no tables), SQLite or PostgreSQL."""
    if request.param == "sqlite":
        engine = db.engine_for(f"sqlite:///{tmp_path / 'readmodel.sqlite3'}")
    else:
        engine = db.engine_for(request.getfixturevalue("postgres_url"))
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine):
    """An engine on a freshly migrated, empty read model."""
    db.migrate(empty_engine)
    return empty_engine
