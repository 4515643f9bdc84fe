"""The intake agent under Faust's test_context: no broker, every input ends in exactly one emitted place."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from civicflow.streams import app as stream_app
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import registry as contract_registry
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.pipeline import agents as pipeline_agents
from civicflow.streams.pipeline.stages import Pipeline
from civicflow.streams.settings import Settings
from tests import factories

CODEC = contract_codec.from_url(None)
TOPICS = contract_topics.Topics()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
CHANGELOG = TOPICS.changelog(app_id="civicflow-unit", table="intake_index")


class ListSink:
    """Collects what the agent emits instead of producing it."""

    def __init__(self) -> None:
        self.sent = []
        self.sources = []

    async def send_all(self, emits, *, source) -> None:
        self.sent.extend(emits)
        self.sources.append(source)


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


def _register(jurisdictions, tmp_path, clock: dict, *, live_index_clock: bool = False):
    """The intake agent on the test's clock (clock["now"]), with a sink that keeps what it emits.
    With live_index_clock the index's processing time follows the latest submitted_at, as it does live."""
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1", data_dir=tmp_path, app_id="civicflow-unit")
    app = stream_app.create_app(settings)
    sink = ListSink()

    def build_pipeline(index, changelog_topic):
        index.clock = lambda: int(clock["now"].timestamp() * 1000)
        if live_index_clock:
            index.clock = lambda: max(index.watermarks.values(), default=0)
        return Pipeline(jurisdictions=jurisdictions, codec=CODEC, topics=TOPICS, index=index,
                        changelog_topic=changelog_topic, clock=lambda: int(clock["now"].timestamp() * 1000))

    agent = pipeline_agents.register(app, build_pipeline=build_pipeline, intake_topic=TOPICS.intake,
                                     changelog_topic=CHANGELOG,
                                     idempotency_window_s=86400, sink=sink)
    return agent, sink


@pytest.fixture
def agent_and_sink(jurisdictions, tmp_path):
    return _register(jurisdictions, tmp_path, {"now": NOW})


def _submission(**overrides) -> dict:
    """A phoned-in missing stop sign in Brooklyn, with a contact."""
    return factories.submission(**{"channel": "phone", "submitted_at": NOW - timedelta(minutes=1), "lat": 40.6608,
                                   "long": -73.9986, "description": "sign gone", "email": "ana@example.org",
                                   "first_name": "Ana", **overrides})


def _put_args(record: dict) -> dict:
    key = f"{record['jurisdiction_id']}:{record['service_code']}".encode()
    return {"key": key, "value": CODEC.encode(contract_schemas.SUBMITTED, record)}


async def test_a_valid_request_reaches_its_agency_and_the_routed_topic(agent_and_sink):
    agent, sink = agent_and_sink
    async with agent.test_context() as context:
        await context.put(**_put_args(_submission()))
    outputs = [emit for emit in sink.sent if emit.topic != CHANGELOG]
    assert sorted(e.topic for e in outputs) == sorted([TOPICS.routed, TOPICS.work(jurisdiction_id="nyc", agency="DOT")])
    work = next(e for e in outputs if e.topic != TOPICS.routed)
    record = CODEC.decode(contract_schemas.ROUTED, work.value)
    assert record["routing"]["agency"] == "DOT" and record["routing"]["rule"] == "dot"
    assert record["contact"] is None, "agencies never see the contact details"
    assert record["enrichment"]["districts"] == {"borough": "Brooklyn", "community_district": "307"}
    routed = CODEC.decode(contract_schemas.ROUTED, next(e for e in sink.sent if e.topic == TOPICS.routed).value)
    assert routed["contact"]["email"] == "ana@example.org"


async def test_poison_input_is_dead_lettered_and_the_agent_keeps_going(agent_and_sink):
    agent, sink = agent_and_sink
    async with agent.test_context() as context:
        await context.put(key=b"x", value=b"\x00\x00\x00\x00\x01\xff\xff\xff")
        await context.put(key=b"x", value=b"not avro at all")
        await context.put(**_put_args(_submission(request_id="after-poison")))
    assert [e.topic for e in sink.sent[:2]] == [TOPICS.dead_letter, TOPICS.dead_letter]
    dead = [CODEC.decode(contract_schemas.DEAD_LETTER, e.value) for e in sink.sent[:2]]
    assert [d["reason_code"] for d in dead] == ["malformed_avro", "unknown_magic_byte"]
    assert dead[1]["value"] == b"not avro at all"
    assert {e.key for e in sink.sent[2:] if e.topic != CHANGELOG} == {b"after-poison"}


async def test_an_invalid_request_is_rejected_with_every_reason(agent_and_sink):
    agent, sink = agent_and_sink
    bad = _submission(service_code="no-such-service", description="<b>x</b>", media_url="ftp://x/y")
    async with agent.test_context() as context:
        await context.put(**_put_args(bad))
    assert [e.topic for e in sink.sent] == [TOPICS.rejected]
    record = CODEC.decode(contract_schemas.REJECTED, sink.sent[0].value)
    assert {r["code"] for r in record["reasons"]} == {"unknown_service_code", "description_html",
                                                      "media_url_invalid"}
    assert record["submission"]["request_id"] == "r-1"


def _samples() -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for metric in REGISTRY.collect()
            for s in metric.samples if s.name.startswith(("civicflow_stage_", "civicflow_requests_routed"))}


async def test_each_outcome_moves_its_own_counters_once_per_event(agent_and_sink):
    agent, _ = agent_and_sink
    before = _samples()
    async with agent.test_context() as context:
        for n in range(3):
            await context.put(**_put_args(_submission(request_id=f"ok-{n}")))
        for _ in range(2):
            await context.put(**_put_args(_submission(service_code="no-such-service", description="<b>x</b>")))
        await context.put(key=b"x", value=b"not avro at all")
    after = _samples()

    def moved(name: str, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("civicflow_stage_events_in_total", stage="validate") == 6
    assert moved("civicflow_stage_events_in_total", stage="route") == 3
    assert moved("civicflow_stage_events_out_total", stage="route", outcome="routed") == 1
    assert moved("civicflow_stage_events_out_total", stage="route", outcome="duplicate") == 2, "same place, same service"
    assert moved("civicflow_stage_events_out_total", stage="validate", outcome="rejected") == 2
    assert moved("civicflow_stage_events_rejected_total", stage="validate", reason="unknown_service_code") == 2
    assert moved("civicflow_stage_events_rejected_total", stage="validate", reason="description_html") == 2
    assert moved("civicflow_stage_events_dead_lettered_total", stage="validate", reason="unknown_magic_byte") == 1
    assert moved("civicflow_requests_routed_total", jurisdiction="nyc", agency="DOT", channel="phone") == 3
    assert after[("civicflow_stage_last_processed_timestamp_seconds", (("stage", "route"),))] > 0


async def test_the_same_input_twice_yields_the_same_event_ids(agent_and_sink):
    agent, sink = agent_and_sink
    async with agent.test_context() as context:
        await context.put(**_put_args(_submission()))
        await context.put(**_put_args(_submission()))
    ids = [CODEC.decode(contract_schemas.ROUTED, e.value)["event_id"] for e in sink.sent if e.topic != CHANGELOG]
    assert len(ids) == 4 and len(set(ids)) == 1


async def test_index_writes_go_to_the_changelog_partition_of_the_input(agent_and_sink):
    agent, sink = agent_and_sink
    async with agent.test_context() as context:
        await context.put(**_put_args(_submission(idempotency_key="k-9")), partition=3)
        await context.put(**_put_args(_submission(request_id="r-2", idempotency_key="k-9")), partition=3)
    state = [e for e in sink.sent if e.topic == CHANGELOG]
    assert {e.partition for e in state} == {3}
    assert b'"idem|nyc|k-9"' in {e.key for e in state}
    rejected = CODEC.decode(contract_schemas.REJECTED, next(e for e in sink.sent if e.topic == TOPICS.rejected).value)
    assert rejected["original_request_id"] == "r-1", "the second use of the key names the first request"


async def test_an_idempotency_key_past_its_window_is_deleted_from_the_changelog_partition(jurisdictions, tmp_path):
    agent, sink = _register(jurisdictions, tmp_path, {"now": NOW}, live_index_clock=True)
    old = _submission(request_id="r-old", idempotency_key="k-old", submitted_at=NOW - timedelta(hours=30))
    async with agent.test_context() as context:
        await context.put(**_put_args(old), partition=2)
        await context.put(**_put_args(_submission(request_id="r-new", idempotency_key="k-new")), partition=2)
        await context.put(**_put_args(_submission(request_id="r-again", idempotency_key="k-old")), partition=2)
    state = [e for e in sink.sent if e.topic == CHANGELOG]
    tombstones = [e for e in state if e.value is None]
    assert [e.key for e in tombstones if e.key == b'"idem|nyc|k-old"'] == [b'"idem|nyc|k-old"']
    assert {e.partition for e in tombstones} == {2}
    outputs = [e for e in sink.sent if e.topic != CHANGELOG]
    assert TOPICS.rejected not in {e.topic for e in outputs}, "a key out of its window is free again"


class FlakyRegistry:
    """The pinned registry, unreachable for the first `failures` lookups."""

    def __init__(self, failures: int) -> None:
        self.inner = contract_registry.PinnedRegistry.from_repository()
        self.failures = failures

    def id_for(self, subject: str) -> int:
        return self.inner.id_for(subject)

    def schema_for(self, schema_id: int) -> dict:
        if self.failures:
            self.failures -= 1
            raise contract_exceptions.RegistryError("connection refused")
        return self.inner.schema_for(schema_id)


async def test_an_unreachable_registry_delays_the_event_instead_of_dead_lettering_it(jurisdictions, tmp_path):
    app = stream_app.create_app(Settings(kafka_bootstrap_servers="127.0.0.1:1", data_dir=tmp_path, app_id="flaky"))
    sink, flaky = ListSink(), contract_codec.Codec(registry=FlakyRegistry(failures=2))

    def build_pipeline(index, changelog_topic):
        return Pipeline(jurisdictions=jurisdictions, codec=flaky, topics=TOPICS, index=index,
                        clock=lambda: int(NOW.timestamp() * 1000))

    agent = pipeline_agents.register(app, build_pipeline=build_pipeline, intake_topic=TOPICS.intake,
                                     changelog_topic="flaky.changelog", idempotency_window_s=86400, sink=sink)
    async with agent.test_context() as context:
        await context.put(**_put_args(_submission()))
        for _ in range(50):  # the agent backs off 0.1 s, then 0.2 s
            if sink.sent:
                break
            await asyncio.sleep(0.05)
    assert TOPICS.dead_letter not in {e.topic for e in sink.sent}
    assert TOPICS.routed in {e.topic for e in sink.sent}
