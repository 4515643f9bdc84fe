"""Reading project topics: decoded records, in the wire format, de-duplicated by event id for agencies."""

import time
from collections.abc import Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import TopicAuthorizationFailedError

from services.sdk.dedupe import SeenEvents
from streams.contracts import codec as contract_codec
from streams.contracts import exceptions as contract_exceptions
from streams.kafka import authorization as kafka_authorization
from streams.kafka import security as kafka_security


@dataclass(frozen=True, slots=True)
class Delivered:
    """One decoded record and where it was read."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    record: dict | None
    error: str | None = None
    raw: bytes | None = None


def _decode(codec: contract_codec.Codec, message) -> Delivered:
    try:
        record = codec.decode(codec.subject_of(message.value), message.value)
        error = None
    except contract_exceptions.ContractError as failure:
        record, error = None, f"{getattr(failure, 'code', 'undecodable')}: {failure}"
    return Delivered(message.topic, message.partition, message.offset, message.timestamp, message.key, record,
                     error, None if record is not None else message.value)


def read_until(*, bootstrap_servers: str, security: kafka_security.ClientSecurity, topics: list[str], until,
               timeout_s: float, settle_s: float = 1.0, isolation_level: str = "read_uncommitted") -> list:
    """Raw messages of the topics from the beginning, once `until(messages)` holds and nothing new came for
    settle_s (or when timeout_s has passed). No consumer group: for tests, benchmarks and operators' scripts.
    With read_committed only records of committed transactions are read (platforms running exactly_once)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=20,
                             max_partition_fetch_bytes=8 * 1024 * 1024, isolation_level=isolation_level,
                             **security.kafka_python())
    consumer.assign([TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())])
    consumer.seek_to_beginning()
    seen, deadline, last_new = [], time.monotonic() + timeout_s, time.monotonic()
    try:
        while time.monotonic() < deadline:
            fresh = [m for records in consumer.poll(timeout_ms=200).values() for m in records]
            seen.extend(fresh)
            last_new = time.monotonic() if fresh else last_new
            if until(seen) and time.monotonic() - last_new >= settle_s:
                break
    finally:
        consumer.close()
    return seen


class TopicReader:
    """Reads a topic from the beginning (or from now), without a consumer group, decoding each record."""

    def __init__(self, *, bootstrap_servers: str, security: kafka_security.ClientSecurity, topic: str,
                 codec: contract_codec.Codec,
                 from_beginning: bool = True) -> None:
        self.codec = codec
        self.started_ms = int(time.time() * 1000)
        self.from_beginning = from_beginning
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False,
                                       fetch_max_wait_ms=50, consumer_timeout_ms=100, **security.kafka_python())
        partitions = self._consumer.partitions_for_topic(topic) or set()
        self._consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        if from_beginning:
            self._consumer.seek_to_beginning()
        else:
            self._consumer.seek_to_end()

    def read(self, *, idle_timeout_s: float | None = None, max_records: int | None = None) -> Iterator[Delivered]:
        """Yield records until `max_records`, or until none arrived for `idle_timeout_s` (None: forever)."""
        count, last = 0, time.monotonic()
        while max_records is None or count < max_records:
            batch = self._consumer.poll(timeout_ms=100)
            messages = [m for records in batch.values() for m in records]
            if not messages and idle_timeout_s is not None and time.monotonic() - last > idle_timeout_s:
                return
            for message in sorted(messages, key=lambda m: (m.timestamp, m.partition, m.offset)):
                # Some brokers report end offsets early; from "now" means records appended from now on.
                if not self.from_beginning and message.timestamp < self.started_ms:
                    continue
                last = time.monotonic()
                yield _decode(self.codec, message)
                count += 1
                if max_records is not None and count >= max_records:
                    return

    def close(self) -> None:
        self._consumer.close()


class AgencyConsumer:
    """An agency's view of its work topic: each request handed over once, offsets committed after handling."""

    def __init__(self, *, bootstrap_servers: str, security: kafka_security.ClientSecurity, topic: str, group_id: str,
                 codec: contract_codec.Codec, seen: SeenEvents | None = None, updates=None,
                 agency: str | None = None, isolation_level: str = "read_uncommitted") -> None:
        """isolation_level: read_committed for a platform running exactly_once, so that records of a transaction
        a killed worker left open (and that is aborted later) are never handed over."""
        self.codec = codec
        self.seen = seen or SeenEvents()
        self.updates = updates   # an UpdateProducer, for acknowledge()
        self.agency = agency
        self.topic = topic
        self.duplicates_dropped = 0
        self._consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap_servers, group_id=group_id,
                                       enable_auto_commit=False, auto_offset_reset="earliest",
                                       fetch_max_wait_ms=100, session_timeout_ms=6000,
                                       heartbeat_interval_ms=1000, isolation_level=isolation_level,
                                       # an agency may start before its work topic exists: notice it in seconds
                                       metadata_max_age_ms=5_000, **security.kafka_python())

    def requests(self, *, idle_timeout_s: float | None = None) -> Iterator[dict]:
        """Yield each routed request once (by event id); commits what was handed over before each poll. Raises
        TopicAuthorizationFailedError when the broker's ACLs refuse this principal the topic."""
        last = time.monotonic()
        while True:
            batch = self._consumer.poll(timeout_ms=200)
            if not batch:
                refused = kafka_authorization.refused_topics(self._consumer) & {self.topic}
                if refused:  # the broker's ACLs do not let this principal read the topic: say so, do not wait
                    raise TopicAuthorizationFailedError(sorted(refused))
                if idle_timeout_s is not None and time.monotonic() - last > idle_timeout_s:
                    return
                continue
            last = time.monotonic()
            for records in batch.values():
                for message in records:
                    yield from self._once(_decode(self.codec, message))
            self._consumer.commit()

    def _once(self, delivered: Delivered) -> Iterator[dict]:
        if delivered.record is None:
            return
        if self.seen.first_time(delivered.record["event_id"]):
            yield delivered.record
        else:
            self.duplicates_dropped += 1

    def acknowledge(self, request: dict, *, note: str | None = None):
        """Tell the platform the agency has seen the request; returns the update id and its future."""
        if self.updates is None or self.agency is None:
            raise ValueError("acknowledge needs the consumer's updates producer and agency code")
        return self.updates.send(request_id=request["request_id"], status="acknowledged", agency=self.agency,
                                 jurisdiction_id=request["jurisdiction_id"], note=note,
                                 external_id=request["request"]["external_id"])

    def close(self) -> None:
        self._consumer.close()
