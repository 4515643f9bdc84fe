"""On the real broker: the intake agent's producer sink puts each record where a keyed send would, in order."""

import asyncio

import pytest
from kafka.partitioner import murmur2

from civicflow.services.sdk import consumer as sdk_consumer
from civicflow.streams import app as stream_app
from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.pipeline import agents as pipeline_agents
from civicflow.streams.events.models import Emit

pytestmark = pytest.mark.integration

PARTITIONS = 4


async def _send(app, emits: list[Emit]) -> None:
    await app.producer.start()
    try:
        await pipeline_agents.ProducerSink(app).send_all(emits, source=("intake", 0))  # at least once: any input
        await app.producer.flush()
    finally:
        await app.producer.stop()


def test_records_land_on_the_key_s_partition_or_the_one_given_in_order_across_batches(platform_settings):
    settings = platform_settings()
    keyed, placed = f"{settings.topic_prefix}keyed", f"{settings.topic_prefix}placed"
    contract_admin.ensure_topics(bootstrap_servers=settings.kafka_bootstrap_servers,
                                 security=kafka_security.PLAINTEXT, names=[keyed, placed],
                                 partitions=PARTITIONS, replication_factor=1)
    body = b"x" * 1500  # 1,500 records of 1.5 kB: many times the producer's 64 kB batch
    emits = [Emit(keyed, f"request-{n % 37}".encode(), body + str(n).encode()) for n in range(1500)]
    emits += [Emit(placed, None, str(n).encode(), partition=n % PARTITIONS) for n in range(40)]
    asyncio.run(_send(stream_app.create_app(settings), emits))

    read = sdk_consumer.read_until(bootstrap_servers=settings.kafka_bootstrap_servers,
                                   security=kafka_security.PLAINTEXT, topics=[keyed, placed],
                                   until=lambda seen: len(seen) >= len(emits), timeout_s=60)
    assert len(read) == len(emits), "every record once"
    for message in (m for m in read if m.topic == keyed):
        assert message.partition == (murmur2(message.key) & 0x7FFFFFFF) % PARTITIONS, message.key
    for message in (m for m in read if m.topic == placed):
        assert message.partition == int(message.value) % PARTITIONS
    for key in {e.key for e in emits if e.topic == keyed}:
        sent = [e.value for e in emits if e.key == key]
        assert [m.value for m in sorted(read, key=lambda m: m.offset) if m.key == key] == sent, "in order"
