"""The consumer fixes that keep at-least-once delivery across rebalances: what is not processed is not committed."""

import asyncio
import uuid
from types import SimpleNamespace

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.structs import OffsetAndMetadata
from faust import streams as faust_streams
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ConsumerMessage
from kafka.admin import KafkaAdminClient, NewTopic

from civicflow.streams.kafka import patches


def _message(topic: str, offset: int) -> ConsumerMessage:
    return ConsumerMessage(topic, 0, offset, 0.0, 0, {}, b"k", b"v", None)


def test_a_message_skipped_before_any_stream_saw_it_is_not_acknowledged():
    patches.ack_only_delivered()
    app = faust.App(f"patches-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1")
    app.topics._acking_topics.add("intake")
    consumer = app.consumer
    skipped, delivered = _message("intake", 7), _message("intake", 8)
    delivered.tracked = True  # a stream took it

    assert consumer.ack(skipped) is False
    assert consumer.ack(delivered) is True
    assert consumer._acked[TP("intake", 0)] == [8]
    # with no committed offset known, Faust commits from the lowest ack: the skipped offset is read again only
    # because the rebalance's seek goes back to the committed offset (see the seek test below)
    assert consumer._new_offset(TP("intake", 0)) == 9


async def test_a_record_handed_over_again_reaches_no_stream_until_a_seek_makes_it_due():
    patches.hand_over_each_record_once()  # keeps Faust's methods, which the fakes stand in for below
    app = faust.App(f"patches-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1")
    consumer, tp = app.consumer, TP("intake", 3)
    fetched = [[1047, 1048, 1048], [1048, 1049], [1047, 1048]]  # the last one again; then again after a seek
    handed, seeks = [], []

    async def fake_getmany(self, timeout):
        for offset in fetched.pop(0):
            yield tp, _message("intake", offset)

    async def fake_perform_seek(self):
        seeks.append("seek")

    originals = {name: getattr(patches._consumer, f"_civicflow_original_{name}") for name in ("getmany",
                                                                                             "perform_seek")}
    patches._consumer._civicflow_original_getmany = fake_getmany
    patches._consumer._civicflow_original_perform_seek = fake_perform_seek
    try:
        patches.hand_over_each_record_once()
        for _ in range(2):
            handed += [message.offset async for _, message in consumer.getmany(timeout=0)]
        await consumer.perform_seek()
        handed += [message.offset async for _, message in consumer.getmany(timeout=0)]
    finally:
        for name, original in originals.items():
            setattr(patches._consumer, f"_civicflow_original_{name}", original)
        patches.hand_over_each_record_once()
    assert seeks == ["seek"]
    assert handed == [1047, 1048, 1049, 1047, 1048]


async def test_an_agent_batch_gets_each_input_once_and_faust_acknowledges_every_copy():
    patches.one_copy_of_each_input_per_batch()  # keeps Faust's take_events, which the fake stands in for below
    app = faust.App(f"patches-{uuid.uuid4().hex[:6]}", broker="kafka://127.0.0.1:1")
    stream = app.stream([])
    copies = [SimpleNamespace(message=_message("intake", offset)) for offset in (1047, 1048, 1048)]
    acknowledged = []

    async def fake_take_events(self, max_, within):
        try:
            yield list(copies)
        finally:  # as Faust's: every event of the batch is acknowledged after it
            acknowledged.extend(event.message.offset for event in copies)

    original = faust_streams.Stream._civicflow_original_take_events
    faust_streams.Stream._civicflow_original_take_events = fake_take_events
    try:
        patches.one_copy_of_each_input_per_batch()
        batches = [[event.message.offset for event in events] async for events in stream.take_events(500, 0.01)]
    finally:
        faust_streams.Stream._civicflow_original_take_events = original
        patches.one_copy_of_each_input_per_batch()
    assert batches == [[1047, 1048]]
    assert acknowledged == [1047, 1048, 1048]


@pytest.mark.integration
async def test_partitions_without_a_committed_offset_go_to_the_start_and_offset_zero_is_sought(broker):
    topic, group = f"patches-{uuid.uuid4().hex[:8]}", f"patches-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    admin.create_topics([NewTopic(topic, 3, 1)])
    admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    await producer.start()
    try:
        for n in range(30):
            await producer.send_and_wait(topic, b"%d" % n, partition=n % 3)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(tps)
        await consumer.commit({tps[1]: OffsetAndMetadata(4, ""), tps[2]: OffsetAndMetadata(0, "")})
        for tp in tps:  # the fetcher has read on, past records nobody processed
            consumer.seek(tp, 10)
        consumer.pause(*tps)  # as hold_streams_until_sought leaves them at assignment
        assert await consumer.getmany(timeout_ms=500) == {}, "a paused partition hands over nothing"

        committed = await patches._seek_to_committed_or_reset(consumer, skip=frozenset(), earliest=True)

        assert committed == {tps[0]: None, tps[1]: 4, tps[2]: 0}
        assert [await consumer.position(tp) for tp in tps] == [0, 4, 0]
        assert consumer.paused() == set(), "the seek resumes what was held for it"
        first = await asyncio.wait_for(consumer.getone(tps[1]), timeout=10)
        assert first.offset == 4, "the first record handed over is the committed one"
    finally:
        await consumer.stop()


async def test_the_livelock_check_skips_a_partition_assigned_but_not_sought_yet(monkeypatch):
    checked = []
    thread = faust_aiokafka.AIOKafkaConsumerThread
    monkeypatch.setattr(thread, "_civicflow_original_verify_event_path", lambda self, now, tp: checked.append(tp),
                        raising=False)
    monkeypatch.setattr(thread, "verify_event_path", thread.verify_event_path)  # put back after the test
    patches.skip_unpositioned_in_livelock_check()
    subscriptions = SubscriptionState()
    subscriptions.assign_from_user({TopicPartition("changelog", 0), TopicPartition("changelog", 1)})
    subscriptions.seek(TopicPartition("changelog", 1), 5)
    consumer_thread = SimpleNamespace(
        _ensure_consumer=lambda: SimpleNamespace(_fetcher=SimpleNamespace(_subscriptions=subscriptions)))
    with pytest.raises(AssertionError):  # what Faust's own check ran into: aiokafka asserts a position
        subscriptions.subscription.assignment.state_value(TopicPartition("changelog", 0)).position

    for partition in (0, 1):
        assert thread.verify_event_path(consumer_thread, 0.0, TP("changelog", partition)) is None
    assert checked == [TP("changelog", 1)], "only the partition with a position is checked"


class _Owner:
    def __init__(self) -> None:
        self.log = SimpleNamespace(warning=lambda *args: self.warnings.append(args))
        self.warnings = []


class _Client:
    def __init__(self) -> None:
        self.refreshed = 0

    async def force_metadata_update(self) -> bool:
        self.refreshed += 1
        return True


def _creation_failing(monkeypatch, errors: list[Exception]) -> list[str]:
    """Faust's topic creation replaced by one that raises `errors` in turn, then succeeds; the corrected
    creation installed for the test only. Returns the topics it was asked for."""
    asked = []

    async def really_create_topic(self, owner, client, topic, partitions, replication, **kwargs):
        asked.append(topic)
        if errors:
            raise errors.pop(0)

    transport = faust_aiokafka.Transport
    monkeypatch.setattr(transport, "_really_create_topic", transport._really_create_topic)
    monkeypatch.setattr(transport, "_civicflow_original__really_create_topic", really_create_topic, raising=False)
    return asked


async def test_a_topic_is_created_again_with_fresh_metadata_while_a_dead_node_is_named(monkeypatch):
    from aiokafka import errors as aiokafka_errors

    asked = _creation_failing(monkeypatch, [aiokafka_errors.NodeNotReadyError("node 1"),
                                            RuntimeError("Invalid controller: 1")])
    patches.create_topics_past_dead_nodes(retry_s=10)
    owner, client = _Owner(), _Client()

    await faust_aiokafka.Transport._really_create_topic(None, owner, client, "app-__assignor-__leader", 1, 3)

    assert asked == ["app-__assignor-__leader"] * 3
    assert client.refreshed == 2 and len(owner.warnings) == 2


async def test_other_errors_and_a_node_gone_past_the_deadline_are_raised(monkeypatch):
    from aiokafka import errors as aiokafka_errors

    _creation_failing(monkeypatch, [RuntimeError("something else")])
    patches.create_topics_past_dead_nodes(retry_s=10)
    with pytest.raises(RuntimeError, match="something else"):
        await faust_aiokafka.Transport._really_create_topic(None, _Owner(), _Client(), "t", 1, 3)

    _creation_failing(monkeypatch, [aiokafka_errors.NodeNotReadyError("node 1")] * 5)
    patches.create_topics_past_dead_nodes(retry_s=0)
    with pytest.raises(aiokafka_errors.NodeNotReadyError):
        await faust_aiokafka.Transport._really_create_topic(None, _Owner(), _Client(), "t", 1, 3)
