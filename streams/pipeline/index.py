"""Per-partition intake state: idempotency keys and a spatial grid of open requests for duplicate detection.

The store is any mutable mapping: the agent passes a Faust table (changelog-backed, so it survives restarts
and rebalances), unit tests a dict. Intake is keyed by jurisdiction and service code, so every request a
lookup needs lives in the same partition.
"""

import math
from collections.abc import MutableMapping
from dataclasses import dataclass

_M_PER_DEG_LAT = 111_320.0


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


class IntakeIndex:
    """Idempotency keys and open requests, stored as small JSON-able values under string keys."""

    def __init__(self, store: MutableMapping, *, idempotency_window_ms: int) -> None:
        self.store = store
        self.idempotency_window_ms = idempotency_window_ms

    def original_for(self, *, jurisdiction_id: str, key: str, request_id: str, at_ms: int) -> str | None:
        """The request id an idempotency key was first used for within the window, unless it is this one."""
        entry = self.store.get(f"idem|{jurisdiction_id}|{key}")
        if entry and entry[0] != request_id and abs(at_ms - entry[1]) <= self.idempotency_window_ms:
            return entry[0]
        return None

    def remember_key(self, *, jurisdiction_id: str, key: str, request_id: str, at_ms: int) -> None:
        """Record that an idempotency key now belongs to a request."""
        self.store[f"idem|{jurisdiction_id}|{key}"] = [request_id, at_ms]

    def duplicate_of(self, *, request_id: str, near: Nearby) -> str | None:
        """The earliest open request of the same service within radius and window; None if this one is an original."""
        best = None
        for cell in _neighbours(near):
            for other_id, lat, lon, at_ms in self.store.get(cell, ()):
                if other_id == request_id:
                    return None
                if abs(near.at_ms - at_ms) <= near.window_ms and _distance_m(near.lat, near.lon, lat, lon) <= near.radius_m:
                    if best is None or at_ms < best[1]:
                        best = (other_id, at_ms)
        return best[0] if best else None

    def add_open(self, *, request_id: str, near: Nearby) -> None:
        """Index an original request; drops entries of its cell that fell out of the window."""
        cell = _home(near)
        kept = [e for e in self.store.get(cell, ()) if near.at_ms - e[3] <= near.window_ms and e[0] != request_id]
        kept.append([request_id, near.lat, near.lon, near.at_ms])
        self.store[cell] = kept


def _row(lat: float, radius_m: float) -> tuple[int, float]:
    """Grid row of a latitude and the row's cell width in degrees of longitude."""
    size = max(radius_m, 1.0) * 1.25  # wider than the radius: absorbs the scale change within a row
    row = math.floor(lat * _M_PER_DEG_LAT / size)
    centre = (row + 0.5) * size / _M_PER_DEG_LAT
    width_deg = size / (_M_PER_DEG_LAT * max(math.cos(math.radians(centre)), 0.01))
    return row, width_deg


def _cell_key(near: Nearby, row: int, column: int) -> str:
    return f"dup|{near.jurisdiction_id}|{near.service_code}|{row}|{column}"


def _home(near: Nearby) -> str:
    row, width = _row(near.lat, near.radius_m)
    return _cell_key(near, row, math.floor(near.lon / width))


def _neighbours(near: Nearby) -> list[str]:
    """The cells that can hold a point within the radius: three in this row and in each next row."""
    row, _ = _row(near.lat, near.radius_m)
    size_deg = max(near.radius_m, 1.0) * 1.25 / _M_PER_DEG_LAT
    keys = []
    for other in (row - 1, row, row + 1):
        _, width = _row((other + 0.5) * size_deg, near.radius_m)
        column = math.floor(near.lon / width)
        keys += [_cell_key(near, other, column + dx) for dx in (-1, 0, 1)]
    return keys


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: exact enough at duplicate-detection radii (metres to a few hundred)."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000.0 * math.hypot(x, y)
