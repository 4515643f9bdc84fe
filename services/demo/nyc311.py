"""The NYC 311 sample as demo and test input: rows → request dicts, by the replay's nyc311 mapping."""

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from services.replay import mapping as replay_mapping
from services.replay import rows as replay_rows
from streams.settings import REPO_ROOT

SAMPLE = REPO_ROOT.parent / "shared" / "data" / "nyc311" / "nyc311_sample_2011.csv"


@lru_cache(maxsize=1)
def read_rows(path: Path = SAMPLE) -> list[dict]:
    """The CSV's rows as dicts keyed by column name (read once)."""
    return list(replay_rows.read(path))


def reader(jurisdiction) -> replay_rows.RowReader:
    return _reader(jurisdiction.id, jurisdiction)


@lru_cache(maxsize=4)
def _reader(jurisdiction_id: str, jurisdiction) -> replay_rows.RowReader:
    return replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311"), jurisdiction=jurisdiction)


def to_request(row: dict, *, jurisdiction, submitted_at: datetime | None = None) -> dict:
    """One request dict without a request id (each submission of a row is a new request); `submitted_at`
    moves the request to another time, keeping its due-date offset."""
    request = reader(jurisdiction).request(row, submitted_at=submitted_at, imported=False)
    request.pop("request_id", None)
    return request


def shifted(row: dict, *, jurisdiction, now: datetime) -> dict:
    """The row as if submitted now."""
    return to_request(row, jurisdiction=jurisdiction, submitted_at=now)
