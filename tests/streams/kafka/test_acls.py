"""Each principal's grants, as the admin API and Kafka's kafka-acls.sh take them."""

from kafka.admin import ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourceType

from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.kafka import acls as kafka_acls

TOPICS = contract_topics.Topics(prefix="city.")


def test_an_agency_writes_updates_and_reads_only_its_own_work_topic():
    grants = kafka_acls.agency(principal="User:nyc-dot", topics=TOPICS, jurisdiction_id="nyc", agency="DOT",
                               group_prefix="nyc.dot")
    assert {(g.resource, g.name, g.pattern, g.operation) for g in grants} == {
        ("topic", "city.requests.updates", "literal", "write"),
        ("topic", "city.work.nyc.dot", "literal", "read"),
        ("group", "nyc.dot", "prefixed", "read")}
    assert {g.principal for g in grants} == {"User:nyc-dot"}


def test_a_frontend_writes_submissions_only():
    assert kafka_acls.frontend(principal="User:web", topics=TOPICS) == [
        kafka_acls.Grant("User:web", "topic", "city.requests.submitted", "literal", "write")]


def test_the_platform_owns_its_prefix_its_app_id_and_its_groups():
    grants = kafka_acls.platform(principal="User:p", topic_prefix="city.", app_id="civicflow")
    assert ("topic", "city.", "prefixed", "all") in {(g.resource, g.name, g.pattern, g.operation) for g in grants}
    assert ("group", "civicflow", "prefixed", "all") in {(g.resource, g.name, g.pattern, g.operation) for g in grants}


def test_an_empty_topic_prefix_is_the_literal_wildcard_not_an_empty_prefix():
    grants = kafka_acls.platform(principal="User:p", topic_prefix="", app_id="civicflow")
    assert kafka_acls.Grant("User:p", "topic", "*", "literal", "all") in grants
    assert all(g.name for g in grants)


def test_a_grant_becomes_an_admin_api_acl():
    acl = kafka_acls.to_kafka_python(kafka_acls.Grant("User:a", "group", "nyc.dot", "prefixed", "read"))
    assert (acl.principal, acl.host, acl.operation, acl.permission_type) == \
        ("User:a", "*", ACLOperation.READ, ACLPermissionType.ALLOW)
    assert (acl.resource_pattern.resource_type, acl.resource_pattern.resource_name,
            acl.resource_pattern.pattern_type) == (ResourceType.GROUP, "nyc.dot", ACLResourcePatternType.PREFIXED)
    cluster = kafka_acls.to_kafka_python(kafka_acls.Grant("User:p", "cluster", "kafka-cluster", "literal",
                                                          "idempotent_write"))
    assert cluster.operation == ACLOperation.IDEMPOTENT_WRITE


def test_a_grant_becomes_a_kafka_acls_command_line():
    line = kafka_acls.kafka_acls_command(
        kafka_acls.Grant("User:p", "cluster", "kafka-cluster", "literal", "idempotent_write"), bootstrap="k:9093")
    assert line == ("kafka-acls.sh --bootstrap-server k:9093 --command-config admin.properties --add "
                    "--allow-principal 'User:p' --operation IdempotentWrite --cluster")
    line = kafka_acls.kafka_acls_command(kafka_acls.Grant("User:a", "group", "nyc.dot", "prefixed", "read"))
    assert line.endswith("--operation Read --group 'nyc.dot' --resource-pattern-type prefixed")
