"""The deadlines of the partitions a worker owns, in one heap per partition.

Each entry is (due, sequence, request id, tag, cycle); entries go stale when a goal is stopped, paused or
replanned, and are skipped when popped (the owner checks them against the request's state). The cost of a
tick follows the number of entries due, not the number of open requests.
"""

import heapq
import itertools
from collections.abc import Iterator


class Timers:
    """Per-partition min-heaps of due instants (UTC milliseconds)."""

    def __init__(self) -> None:
        self.heaps: dict[int, list] = {}
        self._sequence = itertools.count()

    def push(self, *, partition: int, due: int, request_id: str, tag: str, cycle: int = 0) -> None:
        heapq.heappush(self.heaps.setdefault(partition, []), (due, next(self._sequence), request_id, tag, cycle))

    def pop_due(self, *, partition: int, until: int, inclusive: bool) -> Iterator[tuple[int, str, str, int]]:
        """Pop and yield (due, request id, tag, cycle) of every entry due before `until` (or at it)."""
        heap = self.heaps.get(partition)
        while heap and (heap[0][0] < until or (inclusive and heap[0][0] == until)):
            due, _, request_id, tag, cycle = heapq.heappop(heap)
            yield due, request_id, tag, cycle

    def next_due(self, partition: int) -> int | None:
        heap = self.heaps.get(partition)
        return heap[0][0] if heap else None

    def drop(self, partitions) -> None:
        """Forget the entries of partitions this worker no longer owns."""
        for partition in partitions:
            self.heaps.pop(partition, None)

    def partitions(self) -> list[int]:
        return list(self.heaps)

    def __len__(self) -> int:
        return sum(len(heap) for heap in self.heaps.values())
