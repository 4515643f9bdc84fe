"""Adjustments to Faust's aiokafka transport, applied by `apply(settings)` when the app is created.

Each one says which broker needs it. The embedded broker's (Tansu's) protocol gaps are corrected only when the
settings say the cluster is the embedded broker (`Settings.on_embedded_broker`); on Apache Kafka they are taken
back, so that a process follows the broker of the app it created last, and the integration suite passes there
without them (`pytest -m integration --broker=kafka`). The corrections of Faust's and aiokafka's own consumer
behaviour apply on every broker.
"""

import asyncio

from aiokafka import TopicPartition
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.kafka import offsets as kafka_offsets

_thread = faust_aiokafka.AIOKafkaConsumerThread
_consumer = faust_consumer.Consumer


def apply(settings) -> None:
    """Install the corrections the settings' broker needs, and take back the embedded broker's on Apache Kafka."""
    if settings.fetch_max_wait_ms is not None:  # always set on the embedded broker; on Apache Kafka only if asked
        set_fetch_wait(settings.fetch_max_wait_ms)
    else:
        _restore(_thread, "_create_worker_consumer")
    if settings.on_embedded_broker:
        correct_highwaters(settings.bootstrap_servers)
    else:
        _restore(_thread, "_highwaters")
    seek_uncommitted_by_reset_policy()
    ack_only_delivered()
    skip_unpositioned_in_livelock_check()


def _restore(cls, name: str) -> None:
    """Faust's own `cls.name` again, if it was replaced."""
    kept = f"_civicflow_original_{name}"
    if hasattr(cls, kept):
        setattr(cls, name, getattr(cls, kept))


def _replace(cls, name: str) -> object:
    """Faust's own `cls.name`, kept the first time it is replaced, so that a second app in the process wraps
    the original again and not the previous replacement."""
    kept = f"_civicflow_original_{name}"
    if not hasattr(cls, kept):
        setattr(cls, kept, getattr(cls, name))
    return getattr(cls, kept)


def set_fetch_wait(max_wait_ms: int) -> None:
    """Embedded broker (and Apache Kafka only when CIVICFLOW_FETCH_MAX_WAIT_MS is set): Faust hard-codes a 1.5 s
    fetch wait. The embedded broker does not wake a waiting fetch when data arrives, so there the wait adds to
    latency (10 ms by default). Apache Kafka answers as soon as data arrives: with Faust's 1.5 s, intake-to-routed
    latency on it was p50 14 ms, p99 30 ms at 20 requests/s (p50 13, p99 56 ms with 10 ms)."""
    original = _replace(_thread, "_create_worker_consumer")

    def create(self, transport):
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    _thread._create_worker_consumer = create


def correct_highwaters(bootstrap_servers: str) -> None:
    """Embedded broker only: table recovery reads changelogs up to their end offsets, which that broker reports
    too early (the base offset of the newest batch + 1): make those the true ends (see kafka.offsets). Apache Kafka
    reports true ends; there the extra read per changelog partition is not made."""
    original = _replace(_thread, "_highwaters")

    async def highwaters(self, partitions):
        reported = await original(self, partitions)
        corrected = await asyncio.to_thread(
            kafka_offsets.true_end_offsets, bootstrap_servers=bootstrap_servers,
            reported={(tp.topic, tp.partition): end for tp, end in reported.items() if end is not None})
        return {tp: corrected.get((tp.topic, tp.partition), end) for tp, end in reported.items()}

    _thread._highwaters = highwaters


def seek_uncommitted_by_reset_policy() -> None:
    """Both brokers: aiokafka's behaviour, not the broker's. On Apache Kafka 4.3.2 aiokafka's own seek_to_committed
    left an uncommitted partition and one committed at 0 where the fetcher was (positions 10, 4, 10 for committed
    None, 4, 0), and without this correction the failover test lost requests in 2 of 10 runs there.

    Faust seeks stream partitions to their committed offsets after every rebalance, and aiokafka's
    `seek_to_committed` skips a partition with no committed offset (or offset 0), leaving it wherever the fetcher
    got to. During table recovery the fetcher reads the stream partitions too and Faust drops those records,
    so a partition nobody has committed yet (a worker killed before its first commit) resumed at its end and
    everything before was never processed. Here such a partition goes where the reset policy says (the start,
    with `earliest`) and offset 0 is sought like any other; changelogs are left to Faust's recovery."""
    _replace(_thread, "seek_to_committed")  # kept, though the replacement does aiokafka's part itself

    async def seek_to_committed(self):
        return await self.call_thread(
            _seek_to_committed_or_reset, self._ensure_consumer(), skip=frozenset(self.app.tables.changelog_topics),
            earliest=self.app.conf.consumer_auto_offset_reset == "earliest")

    _thread.seek_to_committed = seek_to_committed


async def _seek_to_committed_or_reset(consumer, *, skip: frozenset, earliest: bool) -> dict:
    """aiokafka's seek_to_committed, then the partitions it left alone: offset 0 sought, no offset reset."""
    committed = await consumer.seek_to_committed()
    uncommitted = []
    for tp, offset in committed.items():
        if offset == 0:
            consumer.seek(tp, 0)
        elif offset is None and tp.topic not in skip:
            uncommitted.append(tp)
    if uncommitted:
        await (consumer.seek_to_beginning if earliest else consumer.seek_to_end)(*uncommitted)
    return committed


def ack_only_delivered() -> None:
    """Both brokers: Faust's acknowledgement bookkeeping, which involves no broker (the unit test runs without one).
    On Apache Kafka the failover test lost requests in 4 of 7 runs with this and the seek correction off, in none
    of 10 with this one alone off.

    Faust acknowledges a message it skips because a rebalance is under way (flow stopped, or fetched in an
    earlier generation) although no stream has seen it; the next commit could then cover it, and a worker that
    died before seeking back would lose it. Such a message was never tracked by a stream: its ack is ignored,
    so commits stop before it until it has been read again and processed."""
    original = _replace(_consumer, "ack")

    def ack(self, message) -> bool:
        if not message.tracked and self.app.topics.acks_enabled_for(message.topic):
            return False
        return original(self, message)

    _consumer.ack = ack


def skip_unpositioned_in_livelock_check() -> None:
    """Both brokers: Faust's livelock detector, every few seconds, reads the fetch position of every assigned
    partition through aiokafka's `TopicPartitionState.position`, which asserts that there is one. A partition
    assigned in a rebalance and not sought yet has none (standby replicas make this common: a standby's changelog
    partitions are assigned but only sought when standby recovery starts), and the assertion crashed the whole
    worker: on Apache Kafka 4.3.2 the first of two workers with a standby replica crashed five seconds after the
    second joined. A partition without a position has nothing to check yet: it is skipped."""
    original = _replace(_thread, "verify_event_path")

    def verify_event_path(self, now, tp):
        subscription = self._ensure_consumer()._fetcher._subscriptions.subscription  # private: see above
        assignment = subscription.assignment if subscription is not None else None
        if assignment is not None:
            state = assignment.state_value(TopicPartition(tp.topic, tp.partition))
            if state is not None and not state.has_valid_position:
                return None
        return original(self, now, tp)

    _thread.verify_event_path = verify_event_path
