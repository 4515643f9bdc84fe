"""True end offsets: some brokers report the base offset of the newest batch + 1 instead of the end.

Reading from one before the reported end returns the whole newest batch, whose last offset + 1 is the true
end. On Apache Kafka the same read returns the last record and the end stays what the broker said.
"""

import time
from collections.abc import Mapping

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient


def true_end_offsets(*, bootstrap_servers: str, reported: Mapping[tuple[str, int], int],
                     timeout_s: float = 5.0) -> dict[tuple[str, int], int]:
    """{(topic, partition): end offset}, corrected by reading the newest batch of every non-empty partition."""
    ends = dict(reported)
    pending = {TopicPartition(topic, partition): end for (topic, partition), end in reported.items() if end > 0}
    if not pending:
        return ends
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=50,
                             client_id="civicflow-end-offsets")
    try:
        consumer.assign(list(pending))
        for tp, end in pending.items():
            consumer.seek(tp, end - 1)
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=100).items():
                key = (tp.topic, tp.partition)
                ends[key] = max(ends[key], records[-1].offset + 1)
                pending.pop(tp, None)
    finally:
        consumer.close()
    return ends


def committed(*, bootstrap_servers: str, group: str) -> dict[tuple[str, int], int]:
    """{(topic, partition): committed offset} of a consumer group."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="civicflow-offsets")
    try:
        found = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()}


def end_offsets(*, bootstrap_servers: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """The true end offset of every partition of the topics (corrected on brokers that report them early)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, client_id="civicflow-offsets")
    try:
        parts = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        reported = {(tp.topic, tp.partition): end for tp, end in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()
    return true_end_offsets(bootstrap_servers=bootstrap_servers, reported=reported)
