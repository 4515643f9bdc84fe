"""Bench input: valid NYC requests drawn from the 311 sample, spread over the city so few are duplicates."""

import random
import uuid
from datetime import datetime, timedelta, timezone

from services.demo import nyc311
from services.sdk import requests as sdk_requests


def requests(*, jurisdiction, count: int, seed: int = 7) -> list[dict]:
    """`count` submission records; rows without coordinates get a point near a random located row."""
    rng = random.Random(seed)
    rows = nyc311.read_rows()
    located = [r for r in rows if r["Latitude"]]
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    out = []
    for n in range(count):
        row = rng.choice(located)
        request = nyc311.to_request(row, jurisdiction=jurisdiction, submitted_at=start + timedelta(milliseconds=n))
        request["lat"] = float(row["Latitude"]) + rng.uniform(-0.004, 0.004)
        request["long"] = float(row["Longitude"]) + rng.uniform(-0.004, 0.004)
        request["request_id"] = str(uuid.UUID(int=rng.getrandbits(128)))
        if n % 2:
            request["idempotency_key"] = f"bench-{n}"
        out.append(sdk_requests.to_record(request))
    return out
