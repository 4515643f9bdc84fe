"""The throwaway Apache Kafka node as it runs (the session's node of the --broker=kafka run)."""

import pytest
from kafka import KafkaProducer

from civicflow.services.broker import kafka as apache_kafka
from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.kafka import security as kafka_security

pytestmark = pytest.mark.integration


def test_the_node_maps_index_files_of_1_mib(broker, platform_settings):
    """10 MiB sparse index files made the kernel zero pages of holes on every read here and halved a second
    pipeline run's rate on one node (services/broker/kafka.py); the node must really use the smaller size."""
    if not isinstance(broker, apache_kafka.ApacheKafka):
        pytest.skip("the embedded broker has no index files")
    topic = f"{platform_settings().topic_prefix}index"
    contract_admin.ensure_topics(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT,
                                 names=[topic], partitions=1, replication_factor=1, config={})
    with KafkaProducer(bootstrap_servers=broker.bootstrap_servers) as producer:
        producer.send(topic, b"one record").get(timeout=30)
    indexes = sorted((broker.root / "data" / f"{topic}-0").glob("*index"))
    assert [path.suffix for path in indexes] == [".index", ".timeindex"]
    sizes = [path.stat().st_size for path in indexes]
    assert all((1 << 20) - 12 < size <= 1 << 20 for size in sizes), sizes  # whole entries: 8 and 12 bytes
