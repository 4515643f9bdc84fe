"""The lifecycle table on local disk: request states in the partitions' RocksDB databases, not in memory.

Faust's recovery and standby replicas write the changelog's records (key and value bytes as they are on the
topic) into one database per partition and remember the last offset applied; a restarted worker reads only the
changelog after it. This mapping is the processor's `store` on top of those databases:

- reading a request gives the bytes of its state (the processor decodes them); states saved since and not yet
  acknowledged by the changelog come from memory (`pending`);
- writing keeps the state in `pending`; the agent hands each changelog record it sends to `sent`, and once the
  broker acknowledges it the record goes into the partition's database and its offset is remembered. So the
  local database never holds a state the changelog lacks: after a crash the changelog tail makes it whole.

A worker then holds in memory its timer heaps and the states in flight, not a million request states.
"""

from collections.abc import Callable, Iterable, Iterator, MutableMapping

import orjson
import structlog

from civicflow.streams.lifecycle.models import RequestState
from civicflow.streams.pipeline.models import Emit

log = structlog.get_logger(__name__)
_MISSING = object()


class LocalStates(MutableMapping):
    """request id → state: bytes from the local databases, RequestState while its changelog write is in flight."""

    def __init__(self, *, db_for: Callable[[int], object], partitions: Callable[[], Iterable[int]],
                 offset_key: bytes, persist_offset: Callable[[int, int], None]) -> None:
        self.db_for = db_for                  # partition → its open database
        self.partitions = partitions          # the partitions this worker owns now
        self.offset_key = offset_key          # Faust's own key in each database
        self.persist_offset = persist_offset  # (partition, offset): the database holds the changelog up to there
        self.pending: dict[str, RequestState | None] = {}  # saved, not acknowledged yet (None: deleted)
        self._in_flight: dict[str, int] = {}  # changelog records sent and not acknowledged, by request id

    # ---- the processor's side ------------------------------------------------------------------------------

    def __getitem__(self, request_id: str):
        value = self.pending.get(request_id, _MISSING)
        if value is not _MISSING:
            if value is None:
                raise KeyError(request_id)
            return value
        key = orjson.dumps(request_id)
        for partition in self.partitions():
            db = self.db_for(partition)
            if db.key_may_exist(key):  # the bloom filter answers most misses without a read
                raw = db.get(key)
                if raw is not None:
                    return raw
        raise KeyError(request_id)

    def get(self, request_id: str, default=None):
        try:
            return self[request_id]
        except KeyError:
            return default

    def __setitem__(self, request_id: str, state: RequestState) -> None:
        self.pending[request_id] = state
        self._in_flight[request_id] = self._in_flight.get(request_id, 0) + 1

    def __delitem__(self, request_id: str) -> None:
        self[request_id]  # KeyError when there is nothing to delete
        self.pending[request_id] = None
        self._in_flight[request_id] = self._in_flight.get(request_id, 0) + 1

    def __iter__(self) -> Iterator[str]:
        return (request_id for request_id, _ in self.items())

    def __len__(self) -> int:
        return sum(1 for _ in self.items())

    def items(self, partitions: Iterable[int] | None = None) -> Iterator[tuple[str, object]]:
        """Every state of the owned partitions (or of these), read from the databases in key order as it is
        iterated, then those in flight."""
        partitions = list(self.partitions() if partitions is None else partitions)
        for partition in partitions:
            for key, raw in self.db_for(partition).items():
                if key == self.offset_key:
                    continue
                request_id = orjson.loads(key)
                if request_id not in self.pending:
                    yield request_id, raw
        for request_id, state in list(self.pending.items()):
            if state is not None and state.partition in partitions:
                yield request_id, state

    def values(self) -> Iterator[object]:
        return (value for _, value in self.items())

    # ---- the agent's side ----------------------------------------------------------------------------------

    def sent(self, emit: Emit, future) -> None:
        """A changelog record was handed to the producer: write it locally once the broker has it."""
        if future is None:  # a sink without acknowledgements (tests): as if acknowledged at once
            self._write(emit, offset=None)
            return
        future.add_done_callback(lambda done: self._acknowledged(emit, done))

    def _acknowledged(self, emit: Emit, done) -> None:
        if done.cancelled() or done.exception() is not None:
            log.warning("changelog_write_failed", partition=emit.partition,
                        error=None if done.cancelled() else repr(done.exception()))
            return  # the state stays in memory; the changelog (and so a restart) does not have it
        self._write(emit, offset=done.result().offset)

    def _write(self, emit: Emit, *, offset: int | None) -> None:
        db = self.db_for(emit.partition)
        if emit.value is None:
            db.delete(emit.key)
        else:
            db.put(emit.key, emit.value)
        if offset is not None:
            self.persist_offset(emit.partition, offset)
        request_id = orjson.loads(emit.key)
        left = self._in_flight.get(request_id, 1) - 1
        if left > 0:
            self._in_flight[request_id] = left
        else:
            self._in_flight.pop(request_id, None)
            self.pending.pop(request_id, None)
