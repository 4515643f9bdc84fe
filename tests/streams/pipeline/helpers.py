"""Reading every output topic of a test platform and grouping the events by request."""

from collections import defaultdict
from datetime import datetime, timezone

from civicflow.services.sdk import consumer as sdk_consumer
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.kafka import security as kafka_security

CODEC = contract_codec.from_url(None)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


NOW_MS = int(NOW.timestamp() * 1000)


def pipeline(jurisdictions, *, codec=CODEC, changelog_topic: str | None = "state", topics=None):
    """An intake Pipeline on an empty index, its clock and the index's at NOW."""
    from civicflow.streams.pipeline import index as pipeline_index
    from civicflow.streams.pipeline.stages import Pipeline

    index = pipeline_index.IntakeIndex({}, idempotency_window_ms=86_400_000, clock=lambda: NOW_MS)
    return Pipeline(jurisdictions=jurisdictions, codec=codec, topics=topics or contract_topics.Topics(), index=index,
                    changelog_topic=changelog_topic, clock=lambda: NOW_MS)


def run_one(pipeline, *, key: bytes | None, value: bytes | None, source: tuple[str, int, int]):
    """The outcome of one input through the pipeline (a batch of one)."""
    from civicflow.streams.pipeline.models import Input, Source

    return pipeline.run([Input(key, value, Source(*source))])[0]


def expected_places(jurisdictions, records, topics) -> dict[str, str]:
    """Where an uninterrupted pipeline puts each request (it is deterministic given the input order): an agency's
    work topic, triage, rejected, or "duplicate"."""
    from civicflow.streams.contracts import schemas as contract_schemas
    from civicflow.streams.pipeline import index as pipeline_index
    from civicflow.streams.pipeline.stages import Pipeline

    index = pipeline_index.IntakeIndex({}, idempotency_window_ms=86_400_000)
    pipeline = Pipeline(jurisdictions=jurisdictions, codec=CODEC, topics=topics, index=index)
    places = {}
    for n, record in enumerate(records):
        key = f"{record['jurisdiction_id']}:{record['service_code']}".encode()
        outcome = run_one(pipeline, key=key, value=CODEC.encode(contract_schemas.SUBMITTED, record),
                          source=("intake", 0, n))
        places[record["request_id"]] = "duplicate" if outcome.kind == "duplicate" else next(
            e.topic for e in outcome.emits if e.topic != topics.routed)
    return places


def output_topics(topics: contract_topics.Topics, agencies: list[str]) -> list[str]:
    return [topics.rejected, topics.dead_letter, topics.routed, topics.triage] + [
        topics.work(jurisdiction_id="nyc", agency=a) for a in agencies]


def read_all(*, bootstrap: str, names: list[str], until, timeout_s: float, settle_s: float = 2.0,
             isolation_level: str = "read_uncommitted") -> list:
    """Read the topics from the beginning until `until(messages)` holds and nothing new came for settle_s."""
    return sdk_consumer.read_until(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, topics=names,
                                   until=until, timeout_s=timeout_s, settle_s=settle_s,
                                   isolation_level=isolation_level)


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
