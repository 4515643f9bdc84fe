"""Reads a request's routed record back from the routed topic by its offset, for transfers to another agency.

The routed topic is compacted on Apache Kafka, so the record may have moved on past its offset: reading goes
forward from the offset until the request's own record appears.
"""

from aiokafka import AIOKafkaConsumer, TopicPartition

from civicflow.streams.kafka import security as kafka_security

SCAN_LIMIT = 2000  # records read past the offset before giving up


class RoutedArchive:
    """One consumer without a group, assigned to one partition at a time."""

    def __init__(self, *, bootstrap_servers: str, security: kafka_security.ClientSecurity, topic: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.security = security
        self.topic = topic
        self._consumer: AIOKafkaConsumer | None = None

    async def fetch(self, *, partition: int, offset: int, key: bytes) -> bytes | None:
        """The value of the first record with this key at or after the offset, or None."""
        consumer = await self._started()
        tp = TopicPartition(self.topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        scanned = 0
        while scanned < SCAN_LIMIT:
            batch = await consumer.getmany(tp, timeout_ms=2000, max_records=200)
            records = batch.get(tp, [])
            if not records:
                return None
            for record in records:
                if record.key == key:
                    return record.value
            scanned += len(records)
        return None

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False,
                                              fetch_max_wait_ms=50, client_id="civicflow-routed-archive",
                                              **self.security.aiokafka())
            await self._consumer.start()
        return self._consumer
