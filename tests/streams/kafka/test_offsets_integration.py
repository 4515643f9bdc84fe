"""End offsets on the real broker: the true end of every partition, including a newest batch larger than one
poll returns and several partitions whose newest batches are read together (on the embedded broker the reported
ends are corrected by reading those batches; a partial read undercounted them and a replay ended early)."""

import pytest
from kafka import KafkaProducer

from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.kafka import offsets as kafka_offsets
from civicflow.streams.kafka import security as kafka_security

pytestmark = pytest.mark.integration

PARTITIONS = 4


def test_end_offsets_count_every_record_of_large_newest_batches(broker, platform_settings):
    settings = platform_settings()
    topic = f"{settings.topic_prefix}offsets"
    contract_admin.ensure_topics(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT,
                                 names=[topic], partitions=PARTITIONS, replication_factor=1, config={})
    sizes = {0: 1, 1: 1200, 2: 300, 3: 700}  # records per partition, each partition's written in one batch
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, linger_ms=2000, batch_size=4 << 20,
                             max_request_size=8 << 20)
    try:
        for partition, count in sizes.items():
            for n in range(count):
                producer.send(topic, value=b"x" * 20 + str(n).encode(), partition=partition)
        producer.flush()
    finally:
        producer.close()
    ends = kafka_offsets.end_offsets(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT,
                                     topics=[topic])
    assert ends == {(topic, p): count for p, count in sizes.items()}
