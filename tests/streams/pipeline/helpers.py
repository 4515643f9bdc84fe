"""Reading every output topic of a test platform and grouping the events by request."""

import time
from collections import defaultdict

from kafka import KafkaConsumer, TopicPartition

from streams.contracts import codec as contract_codec
from streams.contracts import topics as contract_topics

CODEC = contract_codec.from_settings(None)


def output_topics(topics: contract_topics.Topics, agencies: list[str]) -> list[str]:
    return [topics.rejected, topics.dead_letter, topics.routed, topics.triage] + [
        topics.work(jurisdiction_id="nyc", agency=a) for a in agencies]


def read_all(*, bootstrap: str, names: list[str], until, timeout_s: float, settle_s: float = 2.0) -> list:
    """Read the topics from the beginning until `until(messages)` holds and nothing new came for settle_s."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    consumer.assign([TopicPartition(t, p) for t in names for p in (consumer.partitions_for_topic(t) or ())])
    consumer.seek_to_beginning()
    seen, deadline, last_new = [], time.monotonic() + timeout_s, time.monotonic()
    while time.monotonic() < deadline:
        fresh = [m for records in consumer.poll(timeout_ms=200).values() for m in records]
        seen.extend(fresh)
        last_new = time.monotonic() if fresh else last_new
        if until(seen) and time.monotonic() - last_new >= settle_s:
            break
    consumer.close()
    return seen


def decoded(messages: list) -> list[tuple[str, dict]]:
    return [(m.topic, CODEC.decode(CODEC.subject_of(m.value), m.value)) for m in messages]


def by_event_id(events: list[tuple[str, dict]]) -> dict[tuple[str, str], dict]:
    """One entry per (topic, event id): what consumers see after de-duplication."""
    return {(topic, record["event_id"]): record for topic, record in events}


def places_by_request(events: list[tuple[str, dict]], topics: contract_topics.Topics) -> dict[str, list[str]]:
    """Request id → the terminal places it reached (agency topic, triage, duplicate, rejected)."""
    places = defaultdict(set)
    for (topic, _), record in by_event_id(events).items():
        if topic == topics.dead_letter:
            continue
        if topic == topics.routed:
            if record["routing"]["outcome"] == "duplicate":
                places[record["request_id"]].add("duplicate")
            continue
        places[record["request_id"]].add(topic)
    return {k: sorted(v) for k, v in places.items()}
