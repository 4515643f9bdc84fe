"""Duplicate detection: a request is a duplicate of the earliest open request of the same service within the
service's radius and window. Open requests are indexed on a grid of cells (their home cell); a request looks in
every cell a point within its radius can have as home. The intake index (streams/pipeline/index.py) stores the
cells' entries per partition.
"""

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

M_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True, slots=True)
class Nearby:
    """Where to look for duplicates of one request."""

    jurisdiction_id: str
    service_code: str
    lat: float
    lon: float
    at_ms: int
    radius_m: float
    window_ms: int


def duplicate_of(*, request_id: str, near: Nearby, candidates: Iterable[Sequence]) -> str | None:
    """The earliest candidate (request_id, lat, lon, at_ms, ...) within radius and window of `near`; None when
    there is none, or when the request itself is among them (it is an original seen again)."""
    best = None
    for other_id, lat, lon, at_ms, *_ in candidates:
        if other_id == request_id:
            return None
        in_window = abs(near.at_ms - at_ms) <= near.window_ms
        if in_window and distance_m(near.lat, near.lon, lat, lon) <= near.radius_m:
            if best is None or at_ms < best[1]:
                best = (other_id, at_ms)
    return best[0] if best else None


def _size_m(radius_m: float) -> float:
    """Cell height (and least width) in metres: a circle of the radius then overlaps at most 2 x 2 cells."""
    return 2.0 * max(radius_m, 1.0)


@functools.lru_cache(maxsize=65_536)
def _width_deg(row: int, size_m: float) -> float:
    """Cell width in degrees of longitude in a row: at least size_m metres even at the row's poleward edge."""
    edges = (row * size_m / M_PER_DEG_LAT, (row + 1) * size_m / M_PER_DEG_LAT)
    cos = max(min(math.cos(math.radians(min(abs(e), 89.0))) for e in edges), 0.01)
    return size_m / (M_PER_DEG_LAT * cos)


def _cell_key(near: Nearby, row: int, column: int) -> str:
    return f"dup|{near.jurisdiction_id}|{near.service_code}|{row}|{column}"


def home_cell(near: Nearby) -> str:
    """The cell a request is indexed under."""
    size = _size_m(near.radius_m)
    row = math.floor(near.lat * M_PER_DEG_LAT / size)
    return _cell_key(near, row, math.floor(near.lon / _width_deg(row, size)))


def cells_around(near: Nearby) -> list[str]:
    """The cells a point within the radius can have as its home: the rows and columns the circle overlaps."""
    size = _size_m(near.radius_m)
    y = near.lat * M_PER_DEG_LAT
    # widest extent of the circle in longitude: at its poleward edge, with a margin for the distance formula
    poleward = min(abs(near.lat) + near.radius_m / M_PER_DEG_LAT, 89.0)
    dlon = 1.01 * near.radius_m / (M_PER_DEG_LAT * max(math.cos(math.radians(poleward)), 0.01))
    keys = []
    for row in range(math.floor((y - near.radius_m) / size), math.floor((y + near.radius_m) / size) + 1):
        width = _width_deg(row, size)
        for column in range(math.floor((near.lon - dlon) / width), math.floor((near.lon + dlon) / width) + 1):
            keys.append(_cell_key(near, row, column))
    return keys


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: exact enough at duplicate-detection radii (metres to a few hundred)."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000.0 * math.hypot(x, y)
