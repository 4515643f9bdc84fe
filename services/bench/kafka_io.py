"""Bench plumbing: load a topic, wait until a consumer group has committed all of it, read topics afterwards.

Nothing reads the outputs while a worker is measured: on two cores a concurrent reader takes CPU from it.
"""

from collections import Counter

from kafka import KafkaProducer

from civicflow.services.sdk import consumer as sdk_consumer
from civicflow.services.sdk import progress as sdk_progress
from civicflow.streams.kafka import security as kafka_security


def preload(*, bootstrap: str, topic: str, items: list[tuple[bytes | None, bytes]]) -> dict[int, int]:
    """Produce every (key, value) and wait for the acknowledgements; returns {partition: end offset}."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, **kafka_security.PLAINTEXT.kafka_python(), linger_ms=5,
                             batch_size=262144, acks=1)
    futures = [producer.send(topic, key=key, value=value) for key, value in items]
    producer.flush()
    ends: Counter = Counter()
    for future in futures:
        meta = future.get(timeout=60)
        ends[meta.partition] = max(ends[meta.partition], meta.offset + 1)
    producer.close()
    return dict(ends)


def wait_consumed(*, bootstrap: str, group: str, topic: str, ends: dict[int, int], timeout_s: float) -> None:
    """Block until the group's committed offsets reach `ends` on every partition of the topic."""
    sdk_progress.wait_consumed(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, group=group,
                               timeout_s=timeout_s,
                               ends={(topic, partition): end for partition, end in ends.items()})


def read_all(*, bootstrap: str, topics: list[str], expected: int, timeout_s: float) -> list:
    """Every record of the topics from the beginning, once at least `expected` arrived and 1 s passed quietly."""
    seen = sdk_consumer.read_until(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, topics=topics,
                                   timeout_s=timeout_s,
                                   until=lambda messages: len(messages) >= expected)
    if len(seen) < expected:
        raise RuntimeError(f"only {len(seen)} of {expected} records arrived on {topics} in {timeout_s} s")
    return seen


def rate(messages: list) -> float:
    """Records per second between the first and the last record's timestamp (set by the writing worker)."""
    stamps = sorted(m.timestamp for m in messages)
    return (len(stamps) - 1) / max((stamps[-1] - stamps[0]) / 1000.0, 1e-3)
