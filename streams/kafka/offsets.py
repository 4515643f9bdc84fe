"""True end offsets: the embedded broker reports the base offset of the newest batch + 1 instead of the end.

Reading from one before the reported end returns the whole newest batch, whose last offset + 1 is the true
end. This correction is for the embedded broker only. Apache Kafka reports true ends, so there `end_offsets`
takes them as reported: the read would cost a connection, and it waits its whole timeout on a partition whose
records have all been deleted (5.06 s on Apache Kafka 4.3.2 after DeleteRecords up to the end).
Whether this process's cluster is the embedded broker: what `assume_embedded` was told (the test session's
broker), else the process's settings (a worker's come from its parent, CIVICFLOW_BROKER_KIND included).
"""

import time
from collections.abc import Mapping

import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from civicflow.streams import settings as stream_settings
from civicflow.streams.kafka import security as kafka_security

log = structlog.get_logger(__name__)

BATCH_BYTES = 64 << 20  # a fetch returns a partition's whole newest batch (the broker sends one at least whole)
ALL_RECORDS = 1 << 30   # a poll hands over every record it has fetched

_embedded: bool | None = None


def assume_embedded(embedded: bool | None) -> None:
    """Tell this module whether the process's cluster is the embedded broker (None: ask the settings)."""
    global _embedded
    _embedded = embedded


def on_embedded_broker() -> bool:
    """Whether end offsets need correcting in this process."""
    return stream_settings.get().on_embedded_broker if _embedded is None else _embedded


def true_end_offsets(*, bootstrap_servers: str, security: kafka_security.ClientSecurity,
                     reported: Mapping[tuple[str, int], int], timeout_s: float = 30.0) -> dict[tuple[str, int], int]:
    """{(topic, partition): end offset}, corrected by reading the newest batch of every non-empty partition.

    Every record a poll has fetched is taken at once (a poll hands over 500 by default, shared by the partitions:
    a newest batch cut there undercounted its partition, 499 for 700, and a replay that waited for that end read
    its results before the worker had finished). A partition not read within timeout_s keeps its reported end,
    with a warning that names it."""
    ends = dict(reported)
    pending = {TopicPartition(topic, partition): end for (topic, partition), end in reported.items() if end > 0}
    if not pending:
        return ends
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=50,
                             max_partition_fetch_bytes=BATCH_BYTES, fetch_max_bytes=BATCH_BYTES,
                             client_id="civicflow-end-offsets", **security.kafka_python())
    try:
        consumer.assign(list(pending))
        for tp, end in pending.items():
            consumer.seek(tp, end - 1)
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=100, max_records=ALL_RECORDS).items():
                key = (tp.topic, tp.partition)
                ends[key] = max(ends[key], records[-1].offset + 1)
                pending.pop(tp, None)
    finally:
        consumer.close()
    if pending:
        log.warning("end_offsets_uncorrected", partitions=sorted(f"{tp.topic}[{tp.partition}]" for tp in pending),
                    timeout_s=timeout_s)
    return ends


def committed(*, bootstrap_servers: str, security: kafka_security.ClientSecurity, group: str,
              timeout_s: float = 15.0) -> dict[tuple[str, int], int]:
    """{(topic, partition): committed offset} of a consumer group.

    Both brokers, needed on Apache Kafka: its group coordinator answers COORDINATOR_NOT_AVAILABLE (or LOAD_IN_PROGRESS)
    while __consumer_offsets is being created, on a fresh cluster's first group, or loaded; kafka-python's admin
    raises those retriable errors, so they are retried here until timeout_s.
    """
    deadline = time.monotonic() + timeout_s
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="civicflow-offsets",
                             **security.kafka_python())
    try:
        while True:
            try:
                found = admin.list_group_offsets({group: None}).get(group, {})
                break
            except KafkaError as error:
                if not error.retriable or time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()}


def end_offsets(*, bootstrap_servers: str, security: kafka_security.ClientSecurity,
                topics: list[str]) -> dict[tuple[str, int], int]:
    """The true end offset of every partition of the topics (corrected on the embedded broker only)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, client_id="civicflow-offsets",
                             **security.kafka_python())
    try:
        parts = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
        reported = {(tp.topic, tp.partition): end for tp, end in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()
    if not on_embedded_broker():
        return reported
    return true_end_offsets(bootstrap_servers=bootstrap_servers, security=security, reported=reported)
