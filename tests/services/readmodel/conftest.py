"""Read-model fixtures: every projection test runs on SQLite (a temporary file) and on PostgreSQL (the
session's database from tests/conftest.py; each test gets an empty, freshly migrated schema in it)."""

import pytest
import sqlalchemy as sa

from civicflow.services.readmodel import db

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
