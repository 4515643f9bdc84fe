"""Reading project topics: decoded records, in the wire format, de-duplicated by event id for agencies."""

import time
from collections.abc import Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import TopicAuthorizationFailedError

from civicflow.services.sdk import exceptions as sdk_exceptions
from civicflow.services.sdk.dedupe import SeenEvents
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.kafka import authorization as kafka_authorization
from civicflow.streams.kafka import groups as kafka_groups
from civicflow.streams.kafka import offsets as kafka_offsets
from civicflow.streams.kafka import security as kafka_security


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


def start_positions(offset: str | int, *, beginnings: dict, ends: dict) -> dict:
    """Where to start in each partition: "beginning", "end", an offset N (kept within the partition's
    records), or -N for the last N records of each partition."""
    if offset == "beginning":
        return dict(beginnings)
    if offset == "end":
        return dict(ends)
    if offset >= 0:
        return {tp: min(max(offset, beginnings[tp]), ends[tp]) for tp in beginnings}
    return {tp: max(beginnings[tp], ends[tp] + offset) for tp in beginnings}


def finished(positions: dict, stops: dict) -> bool:
    """Whether every partition has been read up to its stop offset."""
    return all(positions[tp] >= stop for tp, stop in stops.items())


class TopicReader:
    """Reads a topic (or one of its partitions) from a chosen offset, without a consumer group, decoding each
    record; optionally only the records of one key, and up to the end the topic had when reading started."""

    def __init__(self, *, bootstrap_servers: str, security: kafka_security.ClientSecurity, topic: str,
                 codec: contract_codec.Codec, from_beginning: bool = True, offset: str | int | None = None,
                 partition: int | None = None, key: str | bytes | None = None, stop_at_end: bool = False) -> None:
        self.codec = codec
        self.key = key.encode() if isinstance(key, str) else key
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False,
                                       fetch_max_wait_ms=50, consumer_timeout_ms=100, **security.kafka_python())
        try:
            partitions = self._consumer.partitions_for_topic(topic)
            if not partitions:
                raise sdk_exceptions.TopicNotFound(f"no topic {topic!r} at {bootstrap_servers} (civicflow topics "
                                                   "lists the platform's topics; a work topic is named "
                                                   "work.JURISDICTION.AGENCY)")
            if partition is not None and partition not in partitions:
                raise sdk_exceptions.TopicNotFound(f"topic {topic!r} has no partition {partition} (it has "
                                                   f"{min(partitions)} to {max(partitions)})")
            assigned = [TopicPartition(topic, p) for p in sorted(partitions) if partition in (None, p)]
            self._consumer.assign(assigned)
            beginnings = self._consumer.beginning_offsets(assigned)
            # the true ends: the embedded broker reports the start of its newest batch (streams/kafka/offsets.py)
            true_ends = kafka_offsets.end_offsets(bootstrap_servers=bootstrap_servers, security=security,
                                                  topics=[topic])
            ends = {tp: max(true_ends.get((tp.topic, tp.partition), 0), beginnings[tp]) for tp in assigned}
            start = ("beginning" if from_beginning else "end") if offset is None else offset
            self.positions = start_positions(start, beginnings=beginnings, ends=ends)
            for tp, position in self.positions.items():
                self._consumer.seek(tp, position)
            self.stops = ends if stop_at_end else None
        except BaseException:
            self._consumer.close()
            raise

    def read(self, *, idle_timeout_s: float | None = None, max_records: int | None = None) -> Iterator[Delivered]:
        """Yield records until `max_records`, until none arrived for `idle_timeout_s` (None: forever), or, when
        stopping at the end, once every partition is read up to the end it had at the start."""
        count, last = 0, time.monotonic()
        while max_records is None or count < max_records:
            if self.stops is not None and finished(self.positions, self.stops):
                return
            batch = self._consumer.poll(timeout_ms=100)
            messages = [m for records in batch.values() for m in records]
            if not messages and idle_timeout_s is not None and time.monotonic() - last > idle_timeout_s:
                return
            for message in sorted(messages, key=lambda m: (m.timestamp, m.partition, m.offset)):
                last = time.monotonic()
                tp = TopicPartition(message.topic, message.partition)
                self.positions[tp] = max(self.positions[tp], message.offset + 1)
                if self.stops is not None and message.offset >= self.stops[tp]:
                    continue
                if self.key is not None and message.key != self.key:
                    continue
                yield _decode(self.codec, message)
                count += 1
                if max_records is not None and count >= max_records:
                    return
            # offsets without a record for the reader (transaction markers, compacted away) count as read
            for tp in batch if messages else [tp for tp in self.positions if self.stops is not None]:
                self.positions[tp] = max(self.positions[tp], self._consumer.position(tp))

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
        self._consumer = kafka_groups.group_consumer(
            topic, bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False,
            auto_offset_reset="earliest", fetch_max_wait_ms=100, session_timeout_ms=6000, heartbeat_interval_ms=1000,
            isolation_level=isolation_level,
            # an agency may start before its work topic exists: notice it in seconds
            metadata_max_age_ms=5_000, security=security)

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
