"""Create the platform's topics (idempotent): every worker and `civicflow run` call this at start."""

import time

import structlog
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, NotControllerError
from kafka.errors import TopicAlreadyExistsError

from civicflow.streams.kafka import security as kafka_security

log = structlog.get_logger(__name__)

# A node that died stays in the cluster's metadata, and may be named its controller, until the controller quorum
# fences it (broker.session.timeout.ms, 9 s by default): a worker starting then meets it and asks again.
RETRY_S = 30.0
_NODE_GONE = (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, NotControllerError)


def ensure_topics(*, bootstrap_servers: str, security: kafka_security.ClientSecurity, names: list[str],
                  partitions: int, replication_factor: int, compacted: frozenset[str] = frozenset(),
                  config: dict[str, str] | None = None) -> list[str]:
    """Create the topics that do not exist yet, each with `config` (e.g. min.insync.replicas); returns the names
    created. A topic that exists is left as it is. A node that does not answer is asked around, with fresh
    metadata, for up to RETRY_S seconds (the reachability check has already told an unreachable cluster apart)."""
    deadline, created = time.monotonic() + RETRY_S, []
    while True:
        try:
            _create_missing(bootstrap_servers=bootstrap_servers, security=security, names=names,
                            partitions=partitions, replication_factor=replication_factor, compacted=compacted,
                            config=config, created=created)
            return created
        except _NODE_GONE as error:
            if time.monotonic() >= deadline:
                raise
            log.warning("topic_creation_retried", error=f"{type(error).__name__}: {error}")
            time.sleep(1.0)


def _create_missing(*, bootstrap_servers: str, security: kafka_security.ClientSecurity, names: list[str],
                    partitions: int, replication_factor: int, compacted: frozenset[str],
                    config: dict[str, str] | None, created: list[str]) -> None:
    """One attempt with one admin client; each topic it creates is appended to `created` as it goes."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="civicflow-admin",
                             **security.kafka_python())
    try:
        existing = set(admin.list_topics())
        for name in names:
            if name in existing:
                continue
            topic_config = dict(config or {}) | ({"cleanup.policy": "compact"} if name in compacted else {})
            try:
                admin.create_topics([NewTopic(name, partitions, replication_factor, topic_configs=topic_config)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
