"""Times in the read model are stored in UTC; SQLite hands them back naive, PostgreSQL aware."""

from collections.abc import Mapping
from datetime import datetime, timezone

import sqlalchemy as sa

from civicflow.services.readmodel.schema import events, requests

TIME_COLUMNS = frozenset(c.name for table in (requests, events) for c in table.columns
                         if isinstance(c.type, sa.DateTime))


def utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime (a naive one is taken as UTC, as the read model stores it)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def normalized(row: Mapping) -> dict:
    """A row with every time column as an aware UTC datetime, identical on SQLite and PostgreSQL."""
    return {key: utc(value) if key in TIME_COLUMNS else value for key, value in dict(row).items()}
