"""Whether the broker refused a kafka-python consumer the topics it subscribed to.

When a metadata answer refuses a subscribed topic (TOPIC_AUTHORIZATION_FAILED), kafka-python 3.0 logs "Topic … is
not authorized for this client" and raises TopicAuthorizationFailedError inside a metadata listener, where the
error is swallowed: the consumer then polls forever with nothing assigned, as if the topic were empty. The agency
SDK asks `refused_topics` after an empty poll and raises the broker's refusal instead.
"""


def refused_topics(consumer) -> set[str]:
    """The topics the last metadata answer refused this KafkaConsumer (empty when all were authorized)."""
    # Private: KafkaConsumer keeps its network client in `_client`, whose ClusterMetadata records the refused
    # topics in `unauthorized_topics`; the consumer has no public accessor for them. Tested in
    # tests/streams/kafka/test_authorization.py (the attribute) and test_security_integration.py (a refusal).
    return set(consumer._client.cluster.unauthorized_topics)
