"""NYC's own 311 files as demo and test input: rows → request dicts, by the replay's NYC mappings.

The demo draws from all three shared files present (see ../shared/data/SOURCES.md; the 2011 sample also ships
as deploy/demo/nyc311_sample_2011.csv): the 2011 sample and the day of
2018 in the portal's export format (`nyc311` mapping), the week of 2026 in the API's format (`nyc311-api`).
"""

import random
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.streams import resources
from civicflow.streams.settings import REPO_ROOT

# The 2011 sample ships with the package (deploy/demo, an unchanged copy); the two bigger files are used when the
# shared data lies beside a checkout, and skipped otherwise (an installed package).
DATA = REPO_ROOT.parent / "shared" / "data" / "nyc311"
SAMPLE = resources.path("demo/nyc311_sample_2011.csv")
FILES = ((SAMPLE, "nyc311"), (DATA / "nyc311_2018-10-21.csv", "nyc311"), (DATA / "nyc311_2026-08_week.csv", "nyc311-api"))


@lru_cache(maxsize=4)
def read_rows(path: Path = SAMPLE) -> list[dict]:
    """The CSV's rows as dicts keyed by column name (read once)."""
    return list(replay_rows.read(path))


@lru_cache(maxsize=1)
def demo_rows(per_file: int = 3000, seed: int = 311) -> tuple[tuple[str, dict], ...]:
    """(format name, row) from every NYC file present: up to `per_file` rows of each, the same ones every time."""
    picked = []
    for path, format_name in FILES:
        if not path.exists():
            continue
        rows = read_rows(path)
        chosen = rows if len(rows) <= per_file else random.Random(seed).sample(rows, per_file)
        picked += [(format_name, row) for row in chosen]
    return tuple(picked)


def reader(jurisdiction, format_name: str = "nyc311") -> replay_rows.RowReader:
    return _reader(jurisdiction.id, jurisdiction, format_name)


@lru_cache(maxsize=8)
def _reader(jurisdiction_id: str, jurisdiction, format_name: str) -> replay_rows.RowReader:
    return replay_rows.RowReader(mapping=replay_mapping.load(format_name=format_name), jurisdiction=jurisdiction)


def to_request(row: dict, *, jurisdiction, submitted_at: datetime | None = None, format_name: str = "nyc311") -> dict:
    """One live request dict without a request id (each submission of a row is a new request); `submitted_at`
    moves the request to another time, keeping its due-date offset."""
    request = reader(jurisdiction, format_name).request(row, submitted_at=submitted_at, imported=False)
    request.pop("request_id", None)
    return request


def shifted(row: dict, *, jurisdiction, now: datetime, format_name: str = "nyc311") -> dict:
    """The row as if submitted now."""
    return to_request(row, jurisdiction=jurisdiction, submitted_at=now, format_name=format_name)
