"""The correction of kafka-python's group join (streams/kafka/groups.py): a join that ends after the poll waiting for
it gave up is applied, not lost. Without the correction the consumer below keeps its old assignment, reads nothing
of the new topic, and falls out of its group (measured: 4 of 4 runs on each broker, none read within 20 s)."""

import ast
import time
from types import SimpleNamespace

import pytest
from kafka import KafkaProducer
from kafka.coordinator import consumer as kafka_coordinator

from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.kafka import groups as kafka_groups
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import REPO_ROOT


def group_consumers_built_directly(source: str) -> list[int]:
    """The lines where kafka-python's KafkaConsumer is called with a group_id (a group consumer, not corrected)."""
    return [node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "KafkaConsumer"
            and any(keyword.arg == "group_id" for keyword in node.keywords)]


def test_the_check_finds_a_group_consumer_built_directly():
    assert group_consumers_built_directly("c = KafkaConsumer('t', group_id='g')\n") == [1]
    assert group_consumers_built_directly("c = kafka.KafkaConsumer('t', bootstrap_servers=b, group_id=g)\n") == [1]
    assert group_consumers_built_directly("c = KafkaConsumer(bootstrap_servers=b)\n") == []


def test_every_group_consumer_of_the_platform_is_built_with_the_correction():
    own = REPO_ROOT / "streams" / "kafka" / "groups.py"
    offenders = {str(path.relative_to(REPO_ROOT)): lines for root in ("streams", "services")
                 for path in sorted((REPO_ROOT / root).rglob("*.py")) if path != own
                 for lines in [group_consumers_built_directly(path.read_text(encoding="utf-8"))] if lines}
    assert offenders == {}


def test_the_correction_is_installed_once_and_looks_at_an_unfinished_join():
    kafka_groups.finish_interrupted_joins()
    installed = kafka_coordinator.ConsumerCoordinator.need_rejoin
    kafka_groups.finish_interrupted_joins()
    assert kafka_coordinator.ConsumerCoordinator.need_rejoin is installed
    # a join attempt left in hand: the next poll must look at it, whatever the consumer's own checks say
    assert installed(SimpleNamespace(_join_task=object())) is True


@pytest.mark.integration
def test_a_rejoin_that_ends_between_polls_is_applied(broker, platform_settings):
    settings = platform_settings()
    first, added = f"{settings.topic_prefix}groups.first", f"{settings.topic_prefix}groups.added"
    contract_admin.ensure_topics(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT,
                                 names=[first, added], partitions=2, replication_factor=1, config={})
    consumer = kafka_groups.group_consumer(first, bootstrap_servers=broker.bootstrap_servers,
                                           security=kafka_security.PLAINTEXT, group_id=f"{settings.topic_prefix}groups",
                                           auto_offset_reset="earliest", enable_auto_commit=False,
                                           session_timeout_ms=6000, heartbeat_interval_ms=1000)
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(timeout_ms=100)
        assert {tp.topic for tp in consumer.assignment()} == {first}
        # the consumer's own check asks for the rejoin; polls that wait 1 ms leave each join to end between them
        consumer.subscribe([first, added])
        with KafkaProducer(bootstrap_servers=broker.bootstrap_servers) as producer:
            producer.send(added, b"after the rejoin").get(timeout=30)
        received, deadline = [], time.monotonic() + 30
        while not received and time.monotonic() < deadline:
            received = [m.value for records in consumer.poll(timeout_ms=1).values() for m in records]
            time.sleep(0.05)
        assert received == [b"after the rejoin"]
        assert {(tp.topic, tp.partition) for tp in consumer.assignment()} == \
            {(topic, p) for topic in (first, added) for p in (0, 1)}
    finally:
        consumer.close()
