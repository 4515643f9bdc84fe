"""`draft_s` of `make bench`: how long `civicflow jurisdiction draft` takes on NYC's week of 2026 (62,812 rows,
`--format nyc311-api`, the shipped NYC boundary layers) into a temporary directory, from reading the export to a
directory that loads, DRAFT.md included."""

import tempfile
import time
from pathlib import Path

from civicflow.services.demo import nyc311
from civicflow.services.jurisdiction import draft as jurisdiction_draft
from civicflow.streams.settings import Settings

FILE, FORMAT = nyc311.DATA / "nyc311_2026-08_week.csv", "nyc311-api"


def draft_seconds() -> float:
    """Seconds to draft the file into a new directory."""
    boundaries = Settings().jurisdictions_dir / "nyc" / "boundaries"
    layers = [f"borough={boundaries / 'boroughs.geojson'}",
              f"community_district={boundaries / 'community_districts.geojson'}"]
    with tempfile.TemporaryDirectory(prefix="civicflow-bench-draft-") as tmp:
        started = time.perf_counter()
        jurisdiction_draft.run(export=FILE, out=Path(tmp) / "nyc", format_name=FORMAT, boundaries=layers)
        return round(time.perf_counter() - started, 2)
