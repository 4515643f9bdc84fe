"""An Apache Kafka node's server properties (no java needed): the default PLAINTEXT node, the SASL_SSL one, and the
three nodes of a KafkaCluster (the cluster itself is exercised by the `cluster` tests in tests/streams/pipeline)."""

from pathlib import Path

import pytest

from civicflow.services.broker import kafka as apache_kafka
from civicflow.services.broker.exceptions import BrokerError
from tests.support import tls as tls_support


def _protocols(properties: dict[str, str]) -> dict[str, str]:
    return dict(entry.split(":") for entry in properties["listener.security.protocol.map"].split(","))


def test_the_default_node_listens_plaintext_as_before():
    node = apache_kafka.ApacheKafka(port=19092, controller_port=19093)
    node.root = Path("/tmp/node")
    properties = node.server_properties()
    assert properties["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["inter.broker.listener.name"] == "PLAINTEXT"
    assert _protocols(properties) == {"PLAINTEXT": "PLAINTEXT", "CONTROLLER": "PLAINTEXT"}
    assert "authorizer.class.name" not in properties


def test_the_sasl_ssl_node_has_no_plaintext_listener_and_denies_what_no_acl_allows(tmp_path):
    ca = tls_support.CertificateAuthority(tmp_path)
    node = apache_kafka.sasl_ssl_node(keystore=ca.issue("broker").bundle, ca_file=ca.cert, admin="admin",
                                      admin_password='p"w', port=19092, controller_port=19093)
    node.root = Path("/tmp/node")
    properties = node.server_properties()
    assert _protocols(properties) == {"SASL_SSL": "SASL_SSL", "CONTROLLER": "SASL_SSL"}
    assert properties["listeners"] == "SASL_SSL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert properties["advertised.listeners"] == "SASL_SSL://127.0.0.1:19092"
    assert properties["inter.broker.listener.name"] == "SASL_SSL"
    assert properties["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert properties["allow.everyone.if.no.acl.found"] == "false" and properties["super.users"] == "User:admin"
    assert properties["ssl.keystore.type"] == properties["ssl.truststore.type"] == "PEM"
    assert 'password="p\\"w"' in properties["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert node.scram_users == {"admin": 'p"w'}
    assert node.client_security.protocol == "SASL_SSL" and node.client_security.username == "admin"


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
