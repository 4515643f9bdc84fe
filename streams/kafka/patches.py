"""Adjustments to Faust's aiokafka transport, applied once per process before the app starts."""

import asyncio

from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.kafka import offsets as kafka_offsets

_thread = faust_aiokafka.AIOKafkaConsumerThread


def set_fetch_wait(max_wait_ms: int) -> None:
    """Faust hard-codes a 1.5 s fetch wait; on brokers that do not wake waiting fetches it adds to latency."""
    original = getattr(_thread, "_civicflow_original_create", _thread._create_worker_consumer)

    def create(self, transport):
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    _thread._civicflow_original_create = original
    _thread._create_worker_consumer = create


def correct_highwaters(bootstrap_servers: str) -> None:
    """Table recovery reads changelogs up to their end offsets: make those the true ends (see kafka.offsets)."""
    original = getattr(_thread, "_civicflow_original_highwaters", _thread._highwaters)

    async def highwaters(self, partitions):
        reported = await original(self, partitions)
        corrected = await asyncio.to_thread(
            kafka_offsets.true_end_offsets, bootstrap_servers=bootstrap_servers,
            reported={(tp.topic, tp.partition): end for tp, end in reported.items() if end is not None})
        return {tp: corrected.get((tp.topic, tp.partition), end) for tp, end in reported.items()}

    _thread._civicflow_original_highwaters = original
    _thread._highwaters = highwaters
