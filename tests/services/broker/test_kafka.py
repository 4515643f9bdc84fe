"""An Apache Kafka node's server properties (no java needed): the default PLAINTEXT node and the SASL_SSL one."""

from pathlib import Path

from services.broker import kafka as apache_kafka
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
