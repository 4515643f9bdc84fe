"""The ACLs each principal of a secured cluster needs, as plain values; `to_kafka_python` makes them admin-API ACLs.

Three kinds of principal (docs/operations.md, Security):
- the platform (workers, projection, notifier, API, CLI, replays): everything on its own topics (the topic prefix,
  and the Faust app id for Faust's internal topics) and consumer groups (the app id prefix), created as it goes;
- an agency: write requests.updates, read its own work.<city>.<agency> topic, with its consumer groups;
- a frontend: write requests.submitted, nothing else.
The broker refuses whatever is not granted (allow.everyone.if.no.acl.found=false).
"""

from dataclasses import dataclass

from civicflow.streams.contracts import topics as contract_topics

TOPIC, GROUP, CLUSTER = "topic", "group", "cluster"
LITERAL, PREFIXED = "literal", "prefixed"


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW ACL from any host: `principal` (User:<name>) may `operation` on the resource."""

    principal: str
    resource: str   # topic, group or cluster
    name: str       # the resource's name, or its prefix
    pattern: str    # literal or prefixed
    operation: str  # all, read, write, describe, idempotent_write


def _names(text: str, pattern: str) -> tuple[str, str]:
    """A prefixed pattern needs a non-empty prefix: an empty one is every name (the literal wildcard)."""
    return (text, pattern) if text or pattern == LITERAL else ("*", LITERAL)


def platform(*, principal: str, topic_prefix: str, app_id: str) -> list[Grant]:
    """The platform's own principal: all on its topics and groups, cluster describe (consumer lag) and
    idempotent writes."""
    topics_name, topics_pattern = _names(topic_prefix, PREFIXED)
    return [Grant(principal, TOPIC, topics_name, topics_pattern, "all"),
            Grant(principal, TOPIC, app_id, PREFIXED, "all"),     # Faust's <app id>-__assignor-__leader
            Grant(principal, GROUP, app_id, PREFIXED, "all"),     # <app id>, -readmodel, -notifier, ...
            Grant(principal, CLUSTER, "kafka-cluster", LITERAL, "describe"),
            Grant(principal, CLUSTER, "kafka-cluster", LITERAL, "idempotent_write")]


def agency(*, principal: str, topics: contract_topics.Topics, jurisdiction_id: str, agency: str,
           group_prefix: str) -> list[Grant]:
    """An agency: write updates, read its own work topic, commit in consumer groups named `group_prefix`…"""
    return [Grant(principal, TOPIC, topics.updates, LITERAL, "write"),
            Grant(principal, TOPIC, topics.work(jurisdiction_id=jurisdiction_id, agency=agency), LITERAL, "read"),
            Grant(principal, GROUP, group_prefix, PREFIXED, "read")]


def frontend(*, principal: str, topics: contract_topics.Topics) -> list[Grant]:
    """A frontend (the SDK's RequestProducer, `civicflow submit`): write requests.submitted only."""
    return [Grant(principal, TOPIC, topics.intake, LITERAL, "write")]


def to_kafka_python(grant: Grant):
    """The kafka-python admin ACL (KafkaAdminClient.create_acls) of a grant."""
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

    pattern = ResourcePattern(ResourceType[grant.resource.upper()], grant.name,
                              ACLResourcePatternType[grant.pattern.upper()])
    return ACL(grant.principal, "*", ACLOperation[grant.operation.upper()], ACLPermissionType.ALLOW, pattern)


def kafka_acls_command(grant: Grant, *, bootstrap: str = "$KAFKA", config: str = "admin.properties") -> str:
    """The same grant as Kafka's own kafka-acls.sh command line, for operators."""
    resource = {TOPIC: f"--topic '{grant.name}'", GROUP: f"--group '{grant.name}'", CLUSTER: "--cluster"}
    pattern = " --resource-pattern-type prefixed" if grant.pattern == PREFIXED else ""
    operation = "".join(word.capitalize() for word in grant.operation.split("_"))  # Read, IdempotentWrite
    return (f"kafka-acls.sh --bootstrap-server {bootstrap} --command-config {config} --add "
            f"--allow-principal '{grant.principal}' --operation {operation} {resource[grant.resource]}{pattern}")
