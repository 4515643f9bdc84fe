"""Adjustments to Faust's aiokafka transport, applied by `apply(settings)` when the app is created.

Each one says which broker needs it. The embedded broker's (Tansu's) protocol gaps are corrected only when the
settings say the cluster is the embedded broker (`Settings.on_embedded_broker`); on Apache Kafka they are taken
back, so that a process follows the broker of the app it created last, and the integration suite passes there
without them (`pytest -m integration --broker=kafka`). The corrections of Faust's and aiokafka's own consumer
behaviour apply on every broker.
"""

import asyncio
import contextlib
import time

import structlog
from faust import streams as faust_streams
from faust.tables import recovery as faust_recovery
from aiokafka import TopicPartition
from aiokafka import errors as aiokafka_errors
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.kafka import deliveries as kafka_deliveries
from civicflow.streams.kafka import offsets as kafka_offsets
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.kafka import transactions as kafka_transactions

_thread = faust_aiokafka.AIOKafkaConsumerThread
_consumer = faust_consumer.Consumer
log = structlog.get_logger(__name__)


def apply(settings) -> None:
    """Install the corrections the settings' broker needs, and take back the embedded broker's on Apache Kafka."""
    if settings.fetch_max_wait_ms is not None:  # always set on the embedded broker; on Apache Kafka only if asked
        set_fetch_wait(settings.fetch_max_wait_ms)
    else:
        _restore(_thread, "_create_worker_consumer")
    if settings.on_embedded_broker:
        correct_highwaters(settings.bootstrap_servers, security=kafka_security.from_settings(settings))
    elif settings.exactly_once:
        stable_highwaters_from_the_broker()
    else:
        _restore(_thread, "_highwaters")
    if settings.on_embedded_broker:
        _restore(faust_aiokafka.Transport, "_really_create_topic")
    else:
        create_topics_past_dead_nodes()
    seek_uncommitted_by_reset_policy()
    hold_streams_until_sought()
    hand_over_each_record_once()
    one_copy_of_each_input_per_batch()
    ack_only_delivered()
    commit_with_outputs()
    abort_kept_transactions_on_rebalance()
    seek_only_built_offsets()
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


def correct_highwaters(bootstrap_servers: str, *, security: kafka_security.ClientSecurity) -> None:
    """Embedded broker only: table recovery reads changelogs up to their end offsets, which that broker reports
    too early (the base offset of the newest batch + 1): make those the true ends (see kafka.offsets). Apache Kafka
    reports true ends; there the extra read per changelog partition is not made."""
    original = _replace(_thread, "_highwaters")

    async def highwaters(self, partitions):
        reported = await original(self, partitions)
        corrected = await asyncio.to_thread(
            kafka_offsets.true_end_offsets, bootstrap_servers=bootstrap_servers, security=security,
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
    held = [tp for tp in committed if tp.topic not in skip and tp in consumer.paused()]
    if held:  # paused at assignment (hold_streams_until_sought): every position is final now
        consumer.resume(*held)
    return committed


def hold_streams_until_sought() -> None:
    """Both brokers: Faust's recovery, not the broker's. After a rebalance Faust resumes the stream partitions and
    only then seeks them to their committed offsets (one OffsetFetch per assigned partition: tens of milliseconds,
    2.4 s under load). Records aiokafka handed over in between, many fetched during recovery, reached the agents
    and were then sought back under them: at least once, some of them were taken as read and never processed (after
    a SIGKILL the surviving worker never decided 1 to 33 of 300 resubmissions, in 3 of 12 runs of the idempotency
    failover test under load: the "lost" intake index entries); with exactly_once, those processed before the seek
    were processed again after it in the same transaction (76 inputs twice in one failover run on Apache Kafka).
    Here the stream partitions are paused in aiokafka as soon as they are assigned, so aiokafka hands over none of
    their records (nor fetches them during recovery), and resumed by the seek once every position is final.

    Faust's ConsumerRebalanceListener and its `_thread` are Faust internals: the listener runs in the consumer's
    thread, the only place the aiokafka consumer can be paused before Faust's own assignment handling starts."""
    original = _replace(faust_aiokafka.ConsumerRebalanceListener, "on_partitions_assigned")

    async def on_partitions_assigned(self, assigned):
        thread = self._thread
        changelogs = thread.app.tables.changelog_topics
        streams = [tp for tp in assigned if tp.topic not in changelogs]
        if streams:
            thread._ensure_consumer().pause(*streams)
        return await original(self, assigned)

    faust_aiokafka.ConsumerRebalanceListener.on_partitions_assigned = on_partitions_assigned


def hand_over_each_record_once() -> None:
    """Both brokers: Faust's consumer, not the broker. With exactly_once on Apache Kafka, a failover run under load
    (the test's workers, broker and client on one core) read 2 records twice with read_committed: the routed record
    and the agency's copy of one request, each pair at adjacent offsets of one batch of one producer id and epoch,
    committed by one marker, and the worker's log has the request routed twice from the same intake offset (the
    last of its partition) 30 µs apart, in one batch. Transactions cannot help there: both copies were in the
    transaction that committed the input. Faust's consumer drops a record older than the last one it handed over
    for its partition but lets one at that very offset through (its read-offset test is `>=`, see
    kafka.deliveries), so a copy fetched again reaches the agent. Here a record at or before the last offset handed
    over for its partition is dropped (and logged: `repeated_record_dropped`) until a seek (Faust's perform_seek
    after a rebalance, or seek) makes earlier records due again; changelog records are left to Faust's recovery,
    which seeks them itself. one_copy_of_each_input_per_batch covers a copy made further on.

    `getmany`, `perform_seek` and `seek` are Faust's Consumer methods its fetcher and recovery call; the state is
    kept on the consumer (`_civicflow_deliveries`)."""
    getmany = _replace(_consumer, "getmany")
    perform_seek = _replace(_consumer, "perform_seek")
    seek = _replace(_consumer, "seek")

    async def handing_over_once(self, timeout):
        handed, changelogs = _deliveries(self), self.app.tables.changelog_topics
        async for tp, message in getmany(self, timeout):
            if tp.topic in changelogs or handed.first(tp, message.offset):
                yield tp, message
            else:
                log.warning("repeated_record_dropped", topic=tp.topic, partition=tp.partition, offset=message.offset)

    async def seeking_all(self):
        try:
            return await perform_seek(self)
        finally:  # after the seek: records fetched before it, handed over meanwhile, must not hide later ones
            _deliveries(self).sought()

    async def seeking(self, partition, offset):
        try:
            return await seek(self, partition, offset)
        finally:
            _deliveries(self).sought([partition])

    _consumer.getmany = handing_over_once
    _consumer.perform_seek = seeking_all
    _consumer.seek = seeking


def one_copy_of_each_input_per_batch() -> None:
    """Both brokers: Faust's streams. An agent's batch (`take_events`) held the same intake record twice in the
    failover run described in hand_over_each_record_once, and which layer made the copy is not shown; whichever it
    was, an input is processed once per batch here: the batch the agent gets keeps the first copy (Faust still
    acknowledges every copy after the batch, as it does every event of it), and the others are logged
    (`repeated_input_dropped_from_batch`).

    `Stream.take_events` is Faust's public batch iterator; it is wrapped, not changed."""
    take_events = _replace(faust_streams.Stream, "take_events")

    async def taking_each_once(self, max_, within):
        async with contextlib.aclosing(take_events(self, max_, within)) as batches:
            async for events in batches:
                kept = kafka_deliveries.once_each(events)
                if len(kept) < len(events):
                    kept_ids = {id(event) for event in kept}
                    log.warning("repeated_input_dropped_from_batch", copies=len(events) - len(kept),
                                inputs=sorted({(e.message.topic, e.message.partition, e.message.offset)
                                               for e in events if id(e) not in kept_ids}))
                yield kept

    faust_streams.Stream.take_events = taking_each_once


def _deliveries(consumer) -> kafka_deliveries.Deliveries:
    handed = getattr(consumer, "_civicflow_deliveries", None)
    if handed is None:
        handed = consumer._civicflow_deliveries = kafka_deliveries.Deliveries()
    return handed


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


def stable_highwaters_from_the_broker() -> None:
    """Apache Kafka with exactly_once (Faust's transactions): table recovery reads each changelog up to its
    highwater, which Faust takes under transactions from aiokafka's `last_stable_offset`, the figure of the last
    fetch response for the partition, None before the first fetch. A worker's changelog partitions are not
    fetched before recovery, so each highwater was None, taken as -1: recovery thought nothing was to be read
    and every table started empty after a failover. Here the highwaters are asked of the broker, whose answer
    to a read_committed consumer is the last stable offset (the end of the committed records)."""
    _replace(_thread, "_highwaters")

    async def highwaters(self, partitions):
        return await self._ensure_consumer().end_offsets(list(partitions))

    _thread._highwaters = highwaters


def commit_with_outputs() -> None:
    """Both brokers, acts only with exactly_once: Faust commits a partition's transaction with the offsets it
    chose before it takes that producer's lock; records an agent wrote in between, for inputs acknowledged
    later, would commit without their offsets, and a crash would then make them twice. Faust's commit holds the
    agents' gate (`kafka.transactions.outputs_of`) from choosing the offsets to committing them; agents write an
    input's records and acknowledge it inside the same gate."""
    original = _replace(_consumer, "_commit_tps")

    async def _commit_tps(self, tps, start_new_transaction):
        if not self.in_transaction:
            return await original(self, tps, start_new_transaction)
        async with kafka_transactions.commit_gate(self.app):
            return await original(self, tps, start_new_transaction)

    _consumer._commit_tps = _commit_tps


def abort_kept_transactions_on_rebalance() -> None:
    """Both brokers, acts only with exactly_once (Faust's TransactionManager exists only then). After a rebalance
    Faust seeks every stream partition back to its committed offset, so the inputs processed since the last commit
    are processed again; for a partition the worker keeps, Faust kept its producer and its open transaction too,
    which then held both passes' records and committed them both (483 inputs twice, 960 records read twice with
    read_committed, in one failover run on Apache Kafka 4.3.2 with three rebalances). The open transaction of each
    kept partition is aborted here before Faust begins the new generation's: only the second pass is committed.

    `_transaction_producers`, `_trn_locks` (Faust's) and `_txn_manager` (aiokafka's) are private: Faust has no
    public abort for a transaction it keeps, and aiokafka no public "is a transaction open"."""
    original = _replace(faust_consumer.TransactionManager, "on_rebalance")

    async def on_rebalance(self, assigned, revoked, newly_assigned):
        producer = self.producer
        for tid in sorted(self._tps_to_transactional_ids(set(assigned) - set(newly_assigned))):
            transactional = producer._transaction_producers.get(tid)
            if transactional is not None and transactional._txn_manager.is_in_transaction():
                async with producer._trn_locks[tid]:
                    await transactional.abort_transaction()
        return await original(self, assigned, revoked, newly_assigned)

    faust_consumer.TransactionManager.on_rebalance = on_rebalance


def seek_only_built_offsets() -> None:
    """Both brokers: Faust's recovery. It builds the changelog offsets to read from for the partitions it is
    assigned, then seeks them, holding the live set of assigned partitions: a rebalance in between adds partitions
    whose offset is still None, and the seek raised ValueError ("Offset must be a positive integer"), which crashed
    the worker (seen twice in failover runs on Apache Kafka with exactly_once, whose recoveries last about 10 s
    longer). Only partitions with a built offset are sought; the rebalance restarts the recovery for the others.
    `Recovery._seek_offsets` is private: the seek is not reachable otherwise."""
    original = _replace(faust_recovery.Recovery, "_seek_offsets")

    async def _seek_offsets(self, consumer, tps, offsets, title):
        built = {tp for tp in list(tps) if offsets.get(tp) is not None}
        return await original(self, consumer, built, offsets, title)

    faust_recovery.Recovery._seek_offsets = _seek_offsets


CREATE_TOPIC_RETRY_S = contract_admin.RETRY_S  # the same patience as the platform's own topic creation
_NODE_GONE = (aiokafka_errors.NodeNotReadyError, aiokafka_errors.KafkaConnectionError,
              aiokafka_errors.NotControllerError, aiokafka_errors.RequestTimedOutError)


def create_topics_past_dead_nodes(*, retry_s: float = CREATE_TOPIC_RETRY_S) -> None:
    """Apache Kafka with more than one node: Faust creates the topics it declares (its `__assignor-__leader`) by
    asking the first node of its metadata which node is the controller, then sending that node CreateTopics. A
    node that died stays in the metadata, and may be named controller, until the quorum fences it (9 s by
    default), and a worker starting then exited with NodeNotReadyError (tests/streams/pipeline/
    test_cluster_faults.py, the worker started while a broker is dead). The creation is asked again with fresh
    metadata for up to `retry_s`. The embedded broker is one node: down, there is no other to ask."""
    original = _replace(faust_aiokafka.Transport, "_really_create_topic")

    async def _really_create_topic(self, owner, client, topic, partitions, replication, **kwargs):
        deadline = time.monotonic() + retry_s
        while True:
            try:
                return await original(self, owner, client, topic, partitions, replication, **kwargs)
            except RuntimeError as error:  # aiokafka's errors are RuntimeErrors, and Faust's "Invalid controller"
                gone = isinstance(error, _NODE_GONE) or str(error).startswith("Invalid controller")
                if not gone or time.monotonic() >= deadline:
                    raise
                owner.log.warning("Creating topic %r again with fresh metadata: %r", topic, error)
                await asyncio.sleep(1.0)
                await client.force_metadata_update()

    faust_aiokafka.Transport._really_create_topic = _really_create_topic


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
