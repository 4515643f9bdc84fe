"""exactly_once: which broker has transactions, the refusal of a worker where none are, and the commit gate."""

import asyncio
import subprocess
import sys
import uuid

import faust
import pytest

from civicflow.services.launcher import service as launcher
from civicflow.streams.kafka import patches
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.kafka import transactions as kafka_transactions
from civicflow.streams.settings import REPO_ROOT, Settings


def _app(guarantee: str) -> faust.App:
    return faust.App(f"transactions-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1",
                     processing_guarantee=guarantee)


def test_at_least_once_needs_no_probe_and_exactly_once_on_the_embedded_broker_is_refused_without_one():
    assert kafka_transactions.refusal(Settings(broker_kind="embedded")) is None
    reason = kafka_transactions.refusal(Settings(broker_kind="embedded", processing_guarantee="exactly_once"))
    assert "embedded broker" in reason and "\n" not in reason


def test_readers_of_an_exactly_once_platform_read_committed_records_only():
    assert Settings(processing_guarantee="exactly_once").isolation_level == "read_committed"
    assert Settings().isolation_level == "read_uncommitted"


def test_records_of_an_input_go_to_the_transactional_producer_of_its_partition(monkeypatch):
    app = _app("exactly_once")
    app.assignor._topic_groups = {"intake": 0}
    mine = object()
    # Faust declares _transaction_producers as a class attribute (one dict shared by every Producer): this
    # test's producer gets a dict of its own, or its stand-in would reach every later producer's flush()
    monkeypatch.setattr(app.producer, "_transaction_producers", {f"{app.conf.id}-0-3": mine})
    assert kafka_transactions.producer_for(app, topic="intake", partition=3) is mine
    with pytest.raises(LookupError):  # revoked or fenced: the input is left to its new owner
        kafka_transactions.producer_for(app, topic="intake", partition=2)


async def test_a_commit_waits_while_an_agent_writes_and_acknowledges_an_input():
    patches.commit_with_outputs()
    app = _app("exactly_once")
    consumer = app.consumer
    consumer.in_transaction = True  # what Faust's worker sets with exactly_once
    order = []

    async def fake_original(self, tps, start_new_transaction):
        order.append("commit")
        return True

    original = patches._consumer._civicflow_original__commit_tps
    patches._consumer._civicflow_original__commit_tps = fake_original
    try:
        patches.commit_with_outputs()
        async with kafka_transactions.outputs_of(app):
            commit = asyncio.ensure_future(consumer._commit_tps(set(), start_new_transaction=True))
            await asyncio.sleep(0.01)
            order.append("sent and acknowledged")
        assert await commit is True
    finally:
        patches._consumer._civicflow_original__commit_tps = original
        patches.commit_with_outputs()
    assert order == ["sent and acknowledged", "commit"]


def test_at_least_once_the_agents_hold_nothing():
    app = _app("at_least_once")
    assert not kafka_transactions.enabled(app)
    assert not isinstance(kafka_transactions.outputs_of(app), asyncio.Lock)


def _worker(settings: Settings) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicflow.services.cli", "worker"], env=launcher.worker_env(settings),
                          cwd=REPO_ROOT, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["embedded", "kafka"], ids=["by-its-kind", "by-the-probe"])
def test_a_worker_asked_for_exactly_once_on_the_embedded_broker_refuses_to_start_in_one_line(
        broker, platform_settings, kind):
    """by-the-probe: the settings call the embedded broker Apache Kafka, so only its refusal of aiokafka's
    InitProducerId request can stop the worker."""
    if broker.kind != "embedded":
        pytest.skip("the refusal is the embedded broker's; on Apache Kafka the probe finds transactions")
    done = _worker(platform_settings(processing_guarantee="exactly_once", broker_kind=kind))
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("civicflow worker: CIVICFLOW_PROCESSING_GUARANTEE=exactly_once")
    assert done.stdout == b""
    if kind == "kafka":
        assert "InitProducerId" in lines[0]


@pytest.mark.integration
def test_apache_kafka_starts_transactions_for_aiokafka(broker):
    if broker.kind != "kafka":
        pytest.skip("the embedded broker has no transactions (see the refusal test)")
    assert asyncio.run(kafka_transactions.probe(broker.bootstrap_servers, security=kafka_security.PLAINTEXT)) is None
