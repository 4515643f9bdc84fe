"""A stand-in for kafka-python's KafkaConsumer with fixed partition logs, for the consumer runtime's unit tests."""

import threading
from types import SimpleNamespace

from kafka import TopicPartition


class FakeConsumer:
    """Partitions with fixed logs; poll hands out up to `per_poll` records per partition from the position, and
    sets `stop` once every log is read (after calling `on_idle`)."""

    def __init__(self, logs: dict[str, list[bytes]], *, stop: threading.Event, per_poll: int = 2,
                 on_idle=None) -> None:
        self.logs = {TopicPartition(topic, 0): values for topic, values in logs.items()}
        self.position = {tp: 0 for tp in self.logs}
        self.committed: dict[TopicPartition, int] = {}
        self.commits = 0
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.stop = stop
        self.per_poll = per_poll
        self.on_idle = on_idle
        self.closed = False

    def poll(self, timeout_ms: int, max_records: int):
        batch = {}
        for tp, values in self.logs.items():
            start = self.position[tp]
            chunk = values[start:start + self.per_poll]
            if chunk:
                batch[tp] = [SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=start + i, value=v)
                             for i, v in enumerate(chunk)]
                self.position[tp] = start + len(chunk)
        if not batch:
            if self.on_idle:
                self.on_idle()
            self.stop.set()
        return batch

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))
        self.position[tp] = offset

    def commit(self, offsets):
        self.commits += 1
        # kafka-python encodes leader_epoch as an int32: None would fail on a real broker
        assert all(isinstance(meta.leader_epoch, int) and meta.metadata == "" for meta in offsets.values())
        self.committed.update({tp: meta.offset for tp, meta in offsets.items()})

    def close(self, autocommit=True):
        self.closed = True
