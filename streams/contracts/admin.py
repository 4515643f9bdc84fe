"""Create the platform's topics (idempotent): every worker and `civicflow run` call this at start."""

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from civicflow.streams.kafka import security as kafka_security


def ensure_topics(*, bootstrap_servers: str, security: kafka_security.ClientSecurity, names: list[str],
                  partitions: int, replication_factor: int, compacted: frozenset[str] = frozenset(),
                  config: dict[str, str] | None = None) -> list[str]:
    """Create the topics that do not exist yet, each with `config` (e.g. min.insync.replicas); returns the names
    created. A topic that exists is left as it is."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="civicflow-admin",
                             **security.kafka_python())
    try:
        existing = set(admin.list_topics())
        created = []
        for name in names:
            if name in existing:
                continue
            topic_config = dict(config or {}) | ({"cleanup.policy": "compact"} if name in compacted else {})
            try:
                admin.create_topics([NewTopic(name, partitions, replication_factor, topic_configs=topic_config)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
