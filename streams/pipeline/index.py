"""Per-partition intake state: idempotency keys and a spatial grid of open requests for duplicate detection.

The store is any mutable mapping: the agent passes the in-memory data of a Faust table, unit tests a dict.
Every write is also recorded in `changes`, which the pipeline sends to the table's changelog topic with the
event's outputs, so the state survives restarts and rebalances (Faust restores the table from it).
Intake is keyed by jurisdiction and service code, so every request a lookup needs lives in the same partition.
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
        self.changes: list[tuple[str, list]] = []

    def drain(self) -> list[tuple[str, list]]:
        """The (key, value) writes since the last drain, oldest first."""
        changes, self.changes = self.changes, []
        return changes

    def _write(self, key: str, value: list) -> None:
        self.store[key] = value
        self.changes.append((key, value))

    def original_for(self, *, jurisdiction_id: str, key: str, request_id: str, at_ms: int) -> str | None:
        """The request id an idempotency key was first used for within the window, unless it is this one."""
        entry = self.store.get(f"idem|{jurisdiction_id}|{key}")
        if entry and entry[0] != request_id and abs(at_ms - entry[1]) <= self.idempotency_window_ms:
            return entry[0]
        return None

    def remember_key(self, *, jurisdiction_id: str, key: str, request_id: str, at_ms: int) -> None:
        """Record that an idempotency key now belongs to a request."""
        self._write(f"idem|{jurisdiction_id}|{key}", [request_id, at_ms])

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
        self._write(cell, kept)


def _size_m(radius_m: float) -> float:
    """Cell height (and least width) in metres: a circle of the radius then overlaps at most 2 x 2 cells."""
    return 2.0 * max(radius_m, 1.0)


def _width_deg(row: int, size_m: float) -> float:
    """Cell width in degrees of longitude in a row: at least size_m metres even at the row's poleward edge."""
    edges = (row * size_m / _M_PER_DEG_LAT, (row + 1) * size_m / _M_PER_DEG_LAT)
    cos = max(min(math.cos(math.radians(min(abs(e), 89.0))) for e in edges), 0.01)
    return size_m / (_M_PER_DEG_LAT * cos)


def _cell_key(near: Nearby, row: int, column: int) -> str:
    return f"dup|{near.jurisdiction_id}|{near.service_code}|{row}|{column}"


def _home(near: Nearby) -> str:
    size = _size_m(near.radius_m)
    row = math.floor(near.lat * _M_PER_DEG_LAT / size)
    return _cell_key(near, row, math.floor(near.lon / _width_deg(row, size)))


def _neighbours(near: Nearby) -> list[str]:
    """The cells a point within the radius can have as its home: the rows and columns the circle overlaps."""
    size = _size_m(near.radius_m)
    y = near.lat * _M_PER_DEG_LAT
    # widest extent of the circle in longitude: at its poleward edge, with a margin for the distance formula
    poleward = min(abs(near.lat) + near.radius_m / _M_PER_DEG_LAT, 89.0)
    dlon = 1.01 * near.radius_m / (_M_PER_DEG_LAT * max(math.cos(math.radians(poleward)), 0.01))
    keys = []
    for row in range(math.floor((y - near.radius_m) / size), math.floor((y + near.radius_m) / size) + 1):
        width = _width_deg(row, size)
        for column in range(math.floor((near.lon - dlon) / width), math.floor((near.lon + dlon) / width) + 1):
            keys.append(_cell_key(near, row, column))
    return keys


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance: exact enough at duplicate-detection radii (metres to a few hundred)."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000.0 * math.hypot(x, y)
