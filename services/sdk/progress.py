"""How far a consumer group has come: its committed offsets against the true ends of the topics."""

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from streams.kafka import offsets as kafka_offsets


def committed(*, bootstrap_servers: str, group: str) -> dict[tuple[str, int], int]:
    """{(topic, partition): committed offset} of the group."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="civicflow-progress")
    try:
        found = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()}


def end_offsets(*, bootstrap_servers: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """The true end offset of every partition of the topics (corrected on brokers that report them early)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, client_id="civicflow-progress")
    try:
        parts = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        reported = {(tp.topic, tp.partition): end for tp, end in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()
    return kafka_offsets.true_end_offsets(bootstrap_servers=bootstrap_servers, reported=reported)


def wait_consumed(*, bootstrap_servers: str, group: str, ends: dict[tuple[str, int], int], timeout_s: float,
                  interval_s: float = 0.5) -> None:
    """Block until the group has committed at least `ends` on every listed partition."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = committed(bootstrap_servers=bootstrap_servers, group=group)
        if all(done.get(key, -1) >= end for key, end in ends.items() if end > 0):
            return
        time.sleep(interval_s)
    raise TimeoutError(f"group {group} did not consume {sorted({t for t, _ in ends})} within {timeout_s} s")
