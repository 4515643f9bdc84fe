"""The Apache Kafka nodes' configuration: one node alone, and the three nodes of a KafkaCluster (no process is
started here; the cluster itself is exercised by the `cluster` tests in tests/streams/pipeline)."""

from pathlib import Path

import pytest

from services.broker import kafka as apache_kafka
from services.broker.exceptions import BrokerError


def _with_root(node: apache_kafka.ApacheKafka) -> apache_kafka.ApacheKafka:
    node.root = Path("/tmp/civicflow-kafka-unstarted")
    return node


def test_a_lone_node_is_its_own_controller_quorum_with_unreplicated_internal_topics():
    node = _with_root(apache_kafka.ApacheKafka(port=19092, controller_port=19093))
    properties = node.server_properties()
    assert properties["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert properties["offsets.topic.replication.factor"] == "1"
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"


def test_the_nodes_of_a_cluster_share_one_id_and_one_quorum_and_replicate_internal_topics_3_times():
    cluster = apache_kafka.KafkaCluster(size=3)
    nodes = [_with_root(node) for node in cluster.nodes]
    properties = [node.server_properties() for node in nodes]

    assert [p["node.id"] for p in properties] == ["1", "2", "3"]
    assert len({node.cluster_id for node in nodes}) == 1
    voters = {p["controller.quorum.voters"] for p in properties}
    assert voters == {",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)}
    ports = [n.port for n in nodes] + [n.controller_port for n in nodes]
    assert len(set(ports)) == 6, "every listener on a port of its own"
    assert cluster.bootstrap_servers == ",".join(f"127.0.0.1:{n.port}" for n in nodes)
    for p in properties:
        assert p["process.roles"] == "broker,controller"
        assert p["offsets.topic.replication.factor"] == "3"
        assert p["transaction.state.log.min.isr"] == "2"
        assert p["auto.create.topics.enable"] == "false"
    assert {n.heap for n in nodes} == {"-Xmx320m"}


def test_properties_given_to_the_cluster_reach_every_node():
    cluster = apache_kafka.KafkaCluster(size=2, properties={"broker.session.timeout.ms": "9000"})
    assert [_with_root(n).server_properties()["broker.session.timeout.ms"] for n in cluster.nodes] == ["9000"] * 2
    assert _with_root(cluster.nodes[0]).server_properties()["transaction.state.log.min.isr"] == "2"


def test_a_running_node_is_not_restarted_and_an_unknown_node_is_not_found():
    node = apache_kafka.ApacheKafka()
    node.process = type("Running", (), {"poll": lambda self: None})()
    with pytest.raises(BrokerError, match="kill"):
        node.restart()
    with pytest.raises(StopIteration):
        apache_kafka.KafkaCluster(size=1).node(7)
