"""The session's broker for the integration tests: the embedded broker (default) or Apache Kafka (`--broker=kafka`).

Apache Kafka is a throwaway KRaft node (services/broker/kafka.py): the official jars, fetched once with Maven into
`<data dir>/kafka/<version>/libs` (CIVICFLOW_DATA_DIR, .civicflow by default) and reused after, started with
`java` on free ports, its data in a temporary folder removed at the end. It needs java (17 or later) and, until
the jars are cached, mvn; without them the tests that need the broker are skipped with the reason, and in CI
(CI=true) they fail instead.
"""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from civicflow.services.broker import kafka as apache_kafka
from civicflow.services.broker import service as broker_service
from civicflow.streams.kafka import acls as kafka_acls
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import Settings
from tests.support import tls as tls_support

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


def discard(started) -> None:
    """End the session's broker. An Apache Kafka node is SIGKILLed before its stop(): its folder is removed right
    after, and a controlled shutdown with the hundreds of partitions a session leaves waited up to 15 s for nothing
    (the cluster's nodes are killed the same way). The embedded broker, memory only, stops at once."""
    if isinstance(started, apache_kafka.ApacheKafka):
        started.kill()
    started.stop()


ADMIN = "admin"


@dataclass
class SecureKafka:
    """A started SASL_SSL node (civicflow.services.broker.kafka.sasl_ssl_node) with its CA and SCRAM users.

    `users` maps each name to its password; `security(name)` is how that user's clients connect; `admin()` is a
    kafka-python admin client of the super user. `.stop()` ends the node."""

    node: apache_kafka.ApacheKafka
    ca: tls_support.CertificateAuthority
    users: dict[str, str] = field(default_factory=dict, repr=False)

    kind = "kafka"

    @property
    def bootstrap_servers(self) -> str:
        return self.node.bootstrap_servers

    def security(self, name: str) -> kafka_security.ClientSecurity:
        return kafka_security.build(protocol="SASL_SSL", mechanism="SCRAM-SHA-512", username=name,
                                    password=self.users[name], ca_file=self.ca.cert)

    def admin(self):
        from kafka import KafkaAdminClient

        return KafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id="civicflow-test-admin",
                                **self.security(ADMIN).kafka_python())

    def add_user(self, name: str, *, grants: list) -> kafka_security.ClientSecurity:
        """Create a SCRAM-SHA-512 user through the admin API and give it these ACLs (civicflow.streams.kafka.acls grants)."""
        from kafka.admin import ScramMechanism, UserScramCredentialUpsertion

        password = secrets.token_urlsafe(16)
        admin = self.admin()
        try:
            admin.alter_user_scram_credentials(
                [UserScramCredentialUpsertion(name, ScramMechanism.SCRAM_SHA_512, password)])
            if grants:
                created = admin.create_acls([kafka_acls.to_kafka_python(grant) for grant in grants])
                if created["failed"]:
                    raise AssertionError(f"ACLs of {name} not created: {created['failed']}")
        finally:
            admin.close()
        self.users[name] = password
        return self.security(name)

    def stop(self) -> None:
        self.node.stop()


def start_secure(folder: Path) -> SecureKafka:
    """A SASL_SSL node without any PLAINTEXT listener, its CA and server certificate made in `folder`, the super
    user `admin` created at format time. Raises KafkaUnavailable (a reason) without java or jars."""
    data_dir = Settings().data_dir
    missing = apache_kafka.missing_tools(apache_kafka.cache_dir(data_dir))
    if missing:
        raise apache_kafka.KafkaUnavailable(f"the SASL_SSL tests need {' and '.join(missing)} on PATH (Java 17 or "
                                            f"later, and Maven until the jars are cached)")
    ca = tls_support.CertificateAuthority(folder)
    server = ca.issue("broker")
    password = secrets.token_urlsafe(16)
    node = apache_kafka.sasl_ssl_node(keystore=server.bundle, ca_file=ca.cert, admin=ADMIN, admin_password=password,
                                      data_dir=data_dir).start()
    return SecureKafka(node=node, ca=ca, users={ADMIN: password})


def start_cluster(size: int = 3):
    """A started KafkaCluster of `size` nodes on free ports; `.stop()` ends it. Raises KafkaUnavailable."""
    data_dir = Settings().data_dir
    missing = apache_kafka.missing_tools(apache_kafka.cache_dir(data_dir))
    if missing:
        raise apache_kafka.KafkaUnavailable(f"the cluster tests need {' and '.join(missing)} on PATH (Java 17 or "
                                            f"later, and Maven until the jars are cached)")
    return apache_kafka.KafkaCluster(size=size, data_dir=data_dir).start()
