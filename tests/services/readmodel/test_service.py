"""The projection process on the consumer runtime, with a stand-in consumer (no broker): batches applied then
committed, undecodable records counted and skipped, an unavailable database waited out without committing."""

import threading
import urllib.request

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from civicflow.services.broker import service as broker_service
from civicflow.services.consumer import runtime as consumer_runtime
from civicflow.services.readmodel import projection, schema, service
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.settings import Settings
from tests.services.readmodel import records as r
from tests.support.consumers import FakeConsumer

TOPICS = contract_topics.Topics(prefix="t.")
KINDS = {TOPICS.routed: "routed", TOPICS.rejected: "rejected", TOPICS.lifecycle: "lifecycle"}


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def encoded(subject, record) -> bytes:
    return r.CODEC.encode(subject, record)


def topic_logs(rejected_service: str = "pothole") -> dict[str, list[bytes]]:
    routed = encoded(contract_schemas.ROUTED, r.routed("req-1"))
    return {
        TOPICS.routed: [routed, b"\x00\x00\x00", routed, encoded(contract_schemas.ROUTED, r.routed("req-2"))],
        TOPICS.lifecycle: [encoded(contract_schemas.LIFECYCLE, r.lifecycle("req-1", "opened", 0, status="open")),
                           encoded(contract_schemas.LIFECYCLE, r.transition("req-1", "acknowledged", 5))],
        TOPICS.rejected: [encoded(contract_schemas.REJECTED, r.rejected_submission("req-bad",
                                                                                  service_code=rejected_service)),
                          encoded(contract_schemas.LIFECYCLE, r.lifecycle("req-9", "opened", 0, status="open"))],
    }


def counters() -> dict:
    return {
        "applied_routed": sample("civicflow_projection_records_applied_total", topic="routed"),
        "applied_lifecycle": sample("civicflow_projection_records_applied_total", topic="lifecycle"),
        "applied_rejected": sample("civicflow_projection_records_applied_total", topic="rejected"),
        "duplicate_routed": sample("civicflow_projection_records_duplicate_total", topic="routed"),
        "undecodable_routed": sample("civicflow_projection_records_undecodable_total", topic="routed",
                                     reason="truncated_header"),
        "undecodable_rejected": sample("civicflow_projection_records_undecodable_total", topic="rejected",
                                       reason="schema_not_readable"),
        "failed_lifecycle": sample("civicflow_projection_records_failed_total", topic="lifecycle"),
        "retries": sample("civicflow_projection_batch_retries_total"),
        "batches": sample("civicflow_projection_batch_duration_seconds_count"),
    }


def delta(before: dict, after: dict) -> dict:
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


def request_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(schema.requests.c.request_id)).scalars())


def test_batches_are_applied_then_committed_and_bad_records_skipped(engine):
    stop = threading.Event()
    consumer = FakeConsumer(topic_logs(), stop=stop)
    before = counters()
    consumer_runtime.consume(consumer, service.Projector(engine=engine, codec=r.CODEC, kinds=KINDS,
                                                         catalog=r.CATALOG), stop=stop)
    assert request_ids(engine) == ["req-1", "req-2", "req-bad"]
    assert {tp.topic: offset for tp, offset in consumer.committed.items()} == \
        {TOPICS.routed: 4, TOPICS.lifecycle: 2, TOPICS.rejected: 2}
    assert consumer.seeks == []
    changed = delta(before, counters())
    assert changed.pop("batches") == 2
    assert changed == {"applied_routed": 2, "applied_lifecycle": 2, "applied_rejected": 1, "duplicate_routed": 1,
                       "undecodable_routed": 1, "undecodable_rejected": 1}
    assert sample("civicflow_projection_last_applied_timestamp_seconds", topic="lifecycle") > 0


def test_unavailable_database_rewinds_the_batch_and_commits_nothing(engine, tmp_path):
    broken = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'readmodel.sqlite3'}")
    projector = service.Projector(engine=broken, codec=r.CODEC, kinds=KINDS)
    stop = threading.Event()
    consumer = FakeConsumer(topic_logs(), stop=stop)
    before = counters()
    pauses = []

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 3:
            projector.engine = engine  # the database is back
        return stop.is_set()

    consumer_runtime.consume(consumer, projector, stop=stop, sleep=sleep)
    assert pauses == [0.5, 1.0, 2.0]
    assert consumer.seeks[:3] == [(tp, 0) for tp in consumer.logs]  # the first batch was read again
    assert request_ids(engine) == ["req-1", "req-2", "req-bad"]
    assert {tp.topic: offset for tp, offset in consumer.committed.items()} == \
        {TOPICS.routed: 4, TOPICS.lifecycle: 2, TOPICS.rejected: 2}
    changed = delta(before, counters())
    assert changed["retries"] == 3 and changed["applied_routed"] == 2 and changed["undecodable_routed"] == 1


def test_a_record_that_fails_on_its_own_is_skipped(engine, monkeypatch):
    real = projection.apply
    poisoned = r.transition("req-1", "acknowledged", 5)["event_id"]

    def apply(conn, *, topic_kind, record, now, catalog=None):
        if record["event_id"] == poisoned:
            raise ValueError("cannot apply this one")
        return real(conn, topic_kind=topic_kind, record=record, now=now, catalog=catalog)

    monkeypatch.setattr(projection, "apply", apply)
    stop = threading.Event()
    consumer = FakeConsumer(topic_logs(), stop=stop, per_poll=10)
    before = counters()
    consumer_runtime.consume(consumer, service.Projector(engine=engine, codec=r.CODEC, kinds=KINDS), stop=stop)
    changed = delta(before, counters())
    assert changed["failed_lifecycle"] == 1 and changed["applied_lifecycle"] == 1
    assert request_ids(engine) == ["req-1", "req-2", "req-bad"]
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.requests.c.status).where(
            schema.requests.c.request_id == "req-1")).scalar_one() == "open"
    assert consumer.commits == 1


def test_run_migrates_serves_metrics_and_stops(tmp_path, monkeypatch):
    database = tmp_path / "db" / "readmodel.sqlite3"
    settings = Settings(topic_prefix="t.", app_id="civicflow-test", database_url=f"sqlite:///{database}",
                        log_format="json", web_host="127.0.0.1")
    port = broker_service.free_port()
    stop = threading.Event()
    seen = {}

    def on_idle():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            seen["metrics"] = response.read().decode()

    def consumer_for(got_settings, topics):
        seen["topics"] = sorted(topics)
        return FakeConsumer(topic_logs(rejected_service="noise-residential"), stop=stop, on_idle=on_idle)

    monkeypatch.setattr(service, "consumer_for", consumer_for)
    service.run(settings, port=port, stop=stop)
    assert seen["topics"] == sorted(KINDS)
    assert 'civicflow_projection_records_applied_total{topic="routed"}' in seen["metrics"]
    engine = sa.create_engine(f"sqlite:///{database}")
    assert request_ids(engine) == ["req-1", "req-2", "req-bad"]
    with engine.connect() as conn:  # the catalog came from the jurisdictions: the rejected row has names
        assert conn.execute(sa.select(schema.requests.c.service_name, schema.requests.c.service_group).where(
            schema.requests.c.request_id == "req-bad")).one() == ("Noise - Residential", "Noise")
    engine.dispose()
    with pytest.raises(OSError):  # the metrics server was shut down
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
