"""Per-partition intake state: idempotency keys and a spatial grid of open requests for duplicate detection
(the grid and the duplicate rule are enrichment's: streams/enrichment/duplicates.py).

The store is any mutable mapping: the agent passes the in-memory data of a Faust table, unit tests a dict.
Every write is also recorded in `changes`, which the pipeline sends to the table's changelog topic with the
event's outputs, so the state survives restarts and rebalances (Faust restores the table from it).
Intake is keyed by jurisdiction and service code, so every request a lookup needs lives in the same partition.

Entries expire when two clocks have passed their window plus LATENESS_MS: the partition's event-time watermark
(the latest submitted_at accepted on it) and processing time since the entry was written. Event time keeps
live answers exact for requests up to LATENESS_MS out of order; processing time keeps a replay or a historical
import (event times far behind the live watermark) answered exactly while it runs. A deletion is a tombstone
in `changes`. Per-partition heaps of due times make this cost what expires, never a scan; they are rebuilt from
the store when partitions are assigned.
"""

import heapq
import time
from collections.abc import Callable, MutableMapping

from civicflow.streams.enrichment import duplicates as enrichment_duplicates
from civicflow.streams.enrichment.duplicates import Nearby

LATENESS_MS = 3_600_000  # how far out of order (behind its partition's watermark) a request can be and see every entry
EXPIRE_PER_EVENT = 32    # expiries applied per processed event at most, so a jump of the watermark never stalls


class IntakeIndex:
    """Idempotency keys and open requests, stored as small JSON-able values under string keys.

    Values: an idempotency key maps to [request_id, at_ms, partition, written_ms]; a duplicate-grid cell to a
    list of [request_id, lat, lon, at_ms, partition, window_ms, written_ms] (written_ms on processing time).
    """

    def __init__(self, store: MutableMapping, *, idempotency_window_ms: int,
                 clock: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.store = store
        self.idempotency_window_ms = idempotency_window_ms
        self.clock = clock
        self.changes: list[tuple[str, list | None]] = []
        self.watermarks: dict[int, int] = {}
        self.expiring: dict[int, list[tuple[int, int, str]]] = {}  # partition → (event due, wall due, key)
        self.waiting: dict[int, list[tuple[int, int, str]]] = {}   # event due passed: (wall due, event due, key)

    def drain(self) -> list[tuple[str, list | None]]:
        """The (key, value) writes since the last drain, oldest first; a value of None deletes the key."""
        changes, self.changes = self.changes, []
        return changes

    def _write(self, key: str, value: list) -> None:
        self.store[key] = value
        self.changes.append((key, value))

    def _delete(self, key: str) -> None:
        self.store.pop(key, None)
        self.changes.append((key, None))

    def original_for(self, *, jurisdiction_id: str, key: str, request_id: str, at_ms: int) -> str | None:
        """The request id an idempotency key was first used for within the window, unless it is this one."""
        entry = self.store.get(f"idem|{jurisdiction_id}|{key}")
        if entry and entry[0] != request_id and abs(at_ms - entry[1]) <= self.idempotency_window_ms:
            return entry[0]
        return None

    def remember_key(self, *, jurisdiction_id: str, key: str, request_id: str, at_ms: int, partition: int = 0) -> None:
        """Record that an idempotency key now belongs to a request (of this intake partition)."""
        store_key, now = f"idem|{jurisdiction_id}|{key}", self.clock()
        self._write(store_key, [request_id, at_ms, partition, now])
        self._schedule(partition, store_key, at_ms + self.idempotency_window_ms, now + self.idempotency_window_ms)

    def duplicate_of(self, *, request_id: str, near: Nearby) -> str | None:
        """The earliest open request of the same service within radius and window; None if this one is an original
        (the rule is enrichment's: streams/enrichment/duplicates.py; the index keeps the open requests)."""
        store = self.store
        return enrichment_duplicates.duplicate_of(
            request_id=request_id, near=near,
            candidates=(entry for cell in enrichment_duplicates.cells_around(near) for entry in store.get(cell, ())))

    def add_open(self, *, request_id: str, near: Nearby, partition: int = 0) -> None:
        """Index an original request; drops entries of its cell that fell out of the window."""
        cell, now = enrichment_duplicates.home_cell(near), self.clock()
        kept = [e for e in self.store.get(cell, ()) if near.at_ms - e[3] <= near.window_ms and e[0] != request_id]
        kept.append([request_id, near.lat, near.lon, near.at_ms, partition, near.window_ms, now])
        self._write(cell, kept)
        self._schedule(partition, cell, near.at_ms + near.window_ms, now + near.window_ms)

    # ---- expiry ---------------------------------------------------------------------------------------------

    def observe(self, *, partition: int, at_ms: int) -> None:
        """Advance the partition's watermark to an accepted request's submitted_at."""
        if at_ms > self.watermarks.get(partition, at_ms - 1):
            self.watermarks[partition] = at_ms

    def expire(self, *, partition: int, limit: int = EXPIRE_PER_EVENT) -> int:
        """Delete or trim entries of the partition that both clocks have passed, up to `limit` of them (and
        as many heap moves). Returns how many keys were looked at."""
        horizon, now = self.watermarks.get(partition), self.clock()
        expiring, waiting = self.expiring.get(partition), self.waiting.setdefault(partition, [])
        moved = done = 0
        while expiring and horizon is not None and moved < limit and expiring[0][0] + LATENESS_MS < horizon:
            event_due, wall_due, key = heapq.heappop(expiring)
            heapq.heappush(waiting, (wall_due, event_due, key))
            moved += 1
        while waiting and done < limit and waiting[0][0] + LATENESS_MS < now:
            _, _, key = heapq.heappop(waiting)
            self._expire_key(key, event_before=horizon - LATENESS_MS, wall_before=now - LATENESS_MS)
            done += 1
        return done

    def _expire_key(self, key: str, *, event_before: int, wall_before: int) -> None:
        value = self.store.get(key)
        if not value:
            return
        if key.startswith("idem|"):
            window = self.idempotency_window_ms
            if len(value) >= 4 and value[1] + window < event_before and value[3] + window < wall_before:
                self._delete(key)
            return
        kept = [e for e in value if len(e) < 7 or e[3] + e[5] >= event_before or e[6] + e[5] >= wall_before]
        if not kept:
            self._delete(key)
        elif len(kept) < len(value):
            self._write(key, kept)

    def _schedule(self, partition: int, key: str, event_due: int, wall_due: int) -> None:
        heapq.heappush(self.expiring.setdefault(partition, []), (event_due, wall_due, key))

    def rebuild(self, partitions: set[int]) -> int:
        """Re-index the expiry of the entries of these partitions (after recovery); others are forgotten.
        Returns the number of entries scheduled."""
        self.expiring, self.waiting = {p: [] for p in partitions}, {p: [] for p in partitions}
        self.watermarks = {p: w for p, w in self.watermarks.items() if p in partitions}
        for key, value in list(self.store.items()):
            for partition, event_due, wall_due in _expiries(key, value, self.idempotency_window_ms):
                if partition in partitions:
                    self.expiring[partition].append((event_due, wall_due, key))
        for heap in self.expiring.values():
            heapq.heapify(heap)
        return sum(len(heap) for heap in self.expiring.values())

    def revoke(self, partitions: set[int]) -> None:
        """Stop expiring the entries of partitions this worker no longer owns."""
        for partition in partitions:
            self.expiring.pop(partition, None)
            self.waiting.pop(partition, None)
            self.watermarks.pop(partition, None)


def _expiries(key: str, value, idempotency_window_ms: int) -> list[tuple[int, int, int]]:
    """(partition, event due, wall due) of each entry under a key; entries without their dates have none."""
    if not value:
        return []
    if key.startswith("idem|"):
        if len(value) < 4:
            return []
        return [(value[2], value[1] + idempotency_window_ms, value[3] + idempotency_window_ms)]
    return [(e[4], e[3] + e[5], e[6] + e[5]) for e in value if len(e) >= 7]
