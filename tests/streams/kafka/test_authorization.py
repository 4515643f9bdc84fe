"""kafka-python's record of refused topics, which the agency SDK reads (a refusal itself: test_security_integration)."""

from kafka import KafkaConsumer

from civicflow.streams.kafka import authorization as kafka_authorization
from civicflow.streams.kafka import security as kafka_security


def test_a_consumer_that_was_refused_nothing_reports_no_refused_topic():
    # api_version given: the consumer is built without reaching a broker
    consumer = KafkaConsumer(bootstrap_servers="127.0.0.1:1", api_version=(2, 8),
                             **kafka_security.PLAINTEXT.kafka_python())
    try:
        assert kafka_authorization.refused_topics(consumer) == set()
        consumer._client.cluster.unauthorized_topics.add("work.nyc.other")  # as a refusing metadata answer leaves it
        assert kafka_authorization.refused_topics(consumer) == {"work.nyc.other"}
    finally:
        consumer.close()
