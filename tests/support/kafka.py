"""The session's broker for the integration tests: the embedded broker (default) or Apache Kafka (`--broker=kafka`).

Apache Kafka is a throwaway KRaft node (services/broker/kafka.py): the official jars, fetched once with Maven into
`<data dir>/kafka/<version>/libs` (CIVICFLOW_DATA_DIR, .civicflow by default) and reused after, started with
`java` on free ports, its data in a temporary folder removed at the end. It needs java (17 or later) and, until
the jars are cached, mvn; without them the tests that need the broker are skipped with the reason, and in CI
(CI=true) they fail instead.
"""

import os

import pytest

from services.broker import kafka as apache_kafka
from services.broker import service as broker_service
from streams.settings import Settings

KINDS = ("embedded", "kafka")
KafkaUnavailable = apache_kafka.KafkaUnavailable


def unavailable(reason: str):
    """Skip a test that needs Apache Kafka with the reason; in CI (CI=true) fail it instead."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Apache Kafka tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def describe(kind: str, *, cluster: bool = False) -> str:
    """One line for the test report's header."""
    if kind == "embedded":
        return "broker: embedded (Tansu, memory only)"
    libs = apache_kafka.cache_dir(Settings().data_dir)
    cached = "cached" if (libs / ".complete").exists() else "fetched at first use with mvn"
    nodes = "three nodes for the cluster tests" if cluster else "one node"
    return f"broker: Apache Kafka {apache_kafka.VERSION} (KRaft, {nodes}; jars {cached} in {libs})"


def start(kind: str):
    """A started broker of that kind, on free ports; `.stop()` ends it. Raises KafkaUnavailable (a reason)."""
    if kind == "embedded":
        return broker_service.EmbeddedBroker(port=broker_service.free_port()).start()
    data_dir = Settings().data_dir
    missing = apache_kafka.missing_tools(apache_kafka.cache_dir(data_dir))
    if missing:
        raise apache_kafka.KafkaUnavailable(f"--broker=kafka needs {' and '.join(missing)} on PATH (Java 17 or "
                                            f"later, and Maven until the jars are cached)")
    return apache_kafka.ApacheKafka(data_dir=data_dir).start()


def start_cluster(size: int = 3):
    """A started KafkaCluster of `size` nodes on free ports; `.stop()` ends it. Raises KafkaUnavailable."""
    data_dir = Settings().data_dir
    missing = apache_kafka.missing_tools(apache_kafka.cache_dir(data_dir))
    if missing:
        raise apache_kafka.KafkaUnavailable(f"the cluster tests need {' and '.join(missing)} on PATH (Java 17 or "
                                            f"later, and Maven until the jars are cached)")
    return apache_kafka.KafkaCluster(size=size, data_dir=data_dir).start()
