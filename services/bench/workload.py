"""Bench input: valid NYC requests drawn from the 311 sample, spread over the city so few are duplicates."""

import random
import uuid
from datetime import datetime, timedelta, timezone

from civicflow.services.demo import nyc311
from civicflow.services.sdk import requests as sdk_requests

JITTER_DEG = 0.004  # about 400 m: points move off their row's address but stay in the city


def requests(*, jurisdiction, count: int, seed: int = 7) -> list[dict]:
    """`count` submission records, each at a point near a located sample row and inside the jurisdiction."""
    rng = random.Random(seed)
    located = [r for r in nyc311.read_rows() if r["Latitude"]]
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    out = []
    for n in range(count):
        row = rng.choice(located)
        request = nyc311.to_request(row, jurisdiction=jurisdiction, submitted_at=start + timedelta(milliseconds=n))
        request["lat"], request["long"] = _point_inside(jurisdiction, row, rng)
        request["request_id"] = str(uuid.UUID(int=rng.getrandbits(128)))
        if n % 2:
            request["idempotency_key"] = f"bench-{seed}-{n}"
        out.append(sdk_requests.to_record(request))
    return out


def _point_inside(jurisdiction, row: dict, rng: random.Random) -> tuple[float, float]:
    lat, lon = float(row["Latitude"]), float(row["Longitude"])
    for _ in range(20):
        moved = (lat + rng.uniform(-JITTER_DEG, JITTER_DEG), lon + rng.uniform(-JITTER_DEG, JITTER_DEG))
        if jurisdiction.geography.contains(lat=moved[0], lon=moved[1]):
            return moved
    return lat, lon
