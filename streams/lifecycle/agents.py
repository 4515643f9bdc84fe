"""The lifecycle agent: routed records, agency updates and clock ticks in; lifecycle events, escalations,
notifications, update rejections and transferred requests' work out. A periodic timer fires due SLA timers;
after a rebalance the timers of the partitions this worker owns are rebuilt from the recovered table.

The table lives in memory, or (`store="rocksdb://"`) in one local RocksDB database per partition
(`store.LocalStates`): a restarted worker then reads only the changelog written after its last acknowledged
write, a standby replica keeps another worker's partitions ready, and the timers are rebuilt from the local
databases, so only the timer heaps stay in memory.

The routed, updates and clock topics are keyed by request id (clock ticks by partition) and have the same
partition count, so one request's records meet in one partition and one worker.
"""

import asyncio
import time

import faust
import structlog
from structlog.contextvars import bound_contextvars

from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.events import clock as events_clock
from civicflow.streams.events import dead_letters as events_dead_letters
from civicflow.streams.events.models import Emit
from civicflow.streams.kafka import internals as kafka_internals
from civicflow.streams.kafka import tables as kafka_tables
from civicflow.streams.kafka import transactions as kafka_transactions
from civicflow.streams.lifecycle import codec as lifecycle_codec
from civicflow.streams.lifecycle import machine
from civicflow.streams.lifecycle.processor import LifecycleProcessor, Result
from civicflow.streams.lifecycle.store import LocalStates
from civicflow.streams.observability import heap, logs, metrics

AGENT = "lifecycle"
BATCH_MAX = 500
BATCH_WITHIN_S = 0.005
log = structlog.get_logger(__name__)


def register(app: faust.App, *, processor: LifecycleProcessor, topics, changelog_topic: str, tick_s: float,
             sink=None, store: tuple[str, dict] = ("memory://", {})):
    """Declare the table, the agent, the tick and the rebalance hooks. `processor.store` is set to the table's
    data: its in-memory dict, or its local databases for `store` ("rocksdb://", RocksDB options). `sink` receives
    what is sent: the app's producer unless a test gives its own."""
    changelog = app.topic(changelog_topic, key_serializer="json", value_serializer=lifecycle_codec.NAME, internal=True,
                          partitions=app.conf.topic_partitions, compacting=True, deleting=False)
    store_url, store_options = store
    local = store_url.startswith("rocksdb:")
    # A table's own store URL needs a path: Faust takes the app's store when the table's URL is false, and yarl's
    # URL("rocksdb://") is. The path names the databases (tables/lifecycle_state-<partition>.db), as Faust would.
    table = app.Table("lifecycle_state", default=None, partitions=app.conf.topic_partitions,
                      changelog_topic=changelog, store="rocksdb:lifecycle_state" if local else store_url,
                      options=store_options or None)
    if local:
        processor.store = _local_states(table, processor=processor, changelog_topic=changelog_topic)
        recovered = kafka_tables.count_recovered(table, standby=lambda tp: tp in app.assignor.assigned_standbys())
    else:
        processor.store = kafka_internals.table_dict(table)
        recovered = None
    source = app.topic(topics.routed, topics.updates, topics.clock, key_serializer="raw", value_serializer="raw")
    sink = sink or _ProducerSink(app)
    handler = _Handler(processor=processor, topics=topics, sink=sink, local=processor.store if local else None)

    metrics.zero(AGENT, outcomes=("opened", "transition", "parked", "notification", "rejected", "dead_lettered"),
                 reasons=machine.REFUSAL_CODES)
    metrics.zero("sla", outcomes=("warning", "met", "breached"), dead_letters=())

    @app.agent(source, name=AGENT)
    async def lifecycle(stream):
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            for event in events:
                async with kafka_transactions.outputs_of(app):  # exactly_once: no commit between send and ack
                    await handler.handle(event)
                    await stream.ack(event)  # take_events acks it again after the batch: a no-op then

    @app.timer(interval=tick_s, name="lifecycle-timers")
    async def fire_due_timers():
        await handler.tick()

    @table.on_recover
    async def rebuild_timers():
        owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topics.routed}
        started = time.monotonic()
        for _ in processor.rebuilding(owned):
            # the due timers of the partitions rebuilt so far fire now: in the bench the app's timer did not run
            # before the last of eight partitions of a million timers was rebuilt (16 s on a loaded machine)
            await handler.tick()
        count = len(processor.timers)
        metrics.TIMERS_OPEN.set(count)
        # changelog records recovery applied since the last rebuild (on the local store only the changelog's tail
        # after what the worker had written or replicated), and those its standby replicas applied
        read = {"active": None, "standby": None}  # not counted on the in-memory store
        if recovered is not None:
            read = {"active": recovered["active"], "standby": recovered["standby"]}
            recovered.clear()
        log.info("timers_rebuilt", partitions=sorted(owned), timers=count,
                 changelog_records_read=read["active"], standby_records_read=read["standby"],
                 seconds=round(time.monotonic() - started, 3))
        heap.freeze("lifecycle_state")

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender, revoked, **kwargs):
        processor.revoke({tp.partition for tp in revoked if tp.topic == topics.routed})

    return lifecycle


def _local_states(table, *, processor: LifecycleProcessor, changelog_topic: str) -> LocalStates:
    def owned() -> list[int]:
        # the partitions whose timers the processor holds (set at each rebuild, cut at each revocation): a state
        # is looked for where its timers are, whatever moment of a rebalance a tick falls in
        return sorted(processor.owned)

    def persist(partition: int, offset: int) -> None:
        kafka_tables.set_persisted_offset(table, topic=changelog_topic, partition=partition, offset=offset)

    return LocalStates(db_for=kafka_tables.partition_db(table), partitions=owned,
                       offset_key=kafka_tables.offset_key(table), persist_offset=persist)


class _ProducerSink:
    def __init__(self, app: faust.App) -> None:
        self.app = app

    async def send(self, emit: Emit, *, source: tuple[str, int] | None = None):
        """Send a record of the input read from `source` (topic, partition), or of a timer (None); returns the
        future of the broker's acknowledgement. With exactly_once an input's records go in the transaction of
        its partition, committed with its offset; a timer's, which no input offset covers, are sent at least
        once, as their state write follows their acknowledgement (see `tick`)."""
        if source is None or not kafka_transactions.enabled(self.app):
            return await self.app.producer.send(emit.topic, emit.key, emit.value, emit.partition, None, None)
        topic, partition = source
        producer = kafka_transactions.producer_for(self.app, topic=topic, partition=partition)
        async with kafka_transactions.lock_for(self.app, topic=topic, partition=partition):
            return await producer.send(emit.topic, emit.value, key=emit.key, partition=emit.partition)


class _Handler:
    """Decodes one input, hands it to the processor and sends what comes back."""

    def __init__(self, *, processor: LifecycleProcessor, topics, sink, local: LocalStates | None) -> None:
        self.processor = processor
        self.local = local  # the local databases, written as the changelog acknowledges
        self.topics = topics
        self.sink = sink
        self._refreshed = 0.0

    async def handle(self, event) -> None:
        message = event.message
        started = time.perf_counter()
        with logs.bound_source(message.topic, message.partition, message.offset):
            try:
                result = self._process(message)
            except contract_exceptions.DecodeError as error:
                await self._dead_letter(message, error.code, str(error))
                return
            except contract_exceptions.RegistryError:
                raise
            except Exception as error:  # a poison message must never stop the agent
                log.exception("lifecycle_processing_failed")
                await self._dead_letter(message, "processing_error", f"{type(error).__name__}: {error}")
                return
            await self._send(result, source=(message.topic, message.partition))
            _observe(result, seconds=time.perf_counter() - started)
            if result.counts:
                log.info("lifecycle", **result.counts)

    async def tick(self) -> None:
        """Fire due timers; their events are acknowledged by the broker before their state is written, so a
        crash in between fires them again rather than losing them."""
        started = time.perf_counter()
        result = self.processor.on_tick()
        if result.events or result.state:
            futures = [await self.sink.send(emit) for emit in result.events]
            await asyncio.gather(*(f for f in futures if f is not None))
            await self._send_state(result)
            _observe(result, stage="sla", seconds=time.perf_counter() - started)
        metrics.TIMERS_OPEN.set(len(self.processor.timers))
        if time.monotonic() - self._refreshed > OPEN_REFRESH_S:
            self._refreshed = time.monotonic()
            refresh_open_requests(self.processor)

    def _process(self, message) -> Result:
        codec, topic = self.processor.codec, message.topic
        if topic == self.topics.routed:
            record = codec.decode(contract_schemas.ROUTED, message.value)
            with bound_contextvars(request_id=record["request_id"]):
                return self.processor.on_routed(record, partition=message.partition, offset=message.offset)
        if topic == self.topics.updates:
            update = codec.decode(contract_schemas.UPDATE, message.value)
            update["occurred_at"] = int(update["occurred_at"].timestamp() * 1000)
            with bound_contextvars(request_id=update["request_id"]):
                return self.processor.on_update(update, partition=message.partition)
        tick = codec.decode(contract_schemas.CLOCK_TICK, message.value)
        if not self.processor.options.event_time:
            return Result()
        return self.processor.on_watermark(partition=message.partition,
                                           watermark=int(tick["watermark"].timestamp() * 1000))

    async def _send(self, result: Result, *, source: tuple[str, int]) -> None:
        for emit in result.events:
            await self.sink.send(emit, source=source)
        await self._send_state(result, source=source)

    async def _send_state(self, result: Result, *, source: tuple[str, int] | None = None) -> None:
        for emit in result.state:
            future = await self.sink.send(emit, source=source)
            if self.local is not None:
                self.local.sent(emit, future)

    async def _dead_letter(self, message, code: str, reason: str) -> None:
        metrics.dead_lettered(AGENT, code).inc()
        metrics.stage_out(AGENT, "dead_lettered").inc()
        log.warning("dead_lettered", reason=code)
        record = events_dead_letters.dead_letter(source=(message.topic, message.partition, message.offset),
                                              key=message.key, value=message.value, code=code, reason=reason,
                                              now=events_clock.utc_now())
        value = self.processor.codec.encode(contract_schemas.DEAD_LETTER, record)
        await self.sink.send(Emit(self.topics.dead_letter, message.key, value), source=(message.topic,
                                                                                        message.partition))


OPEN_REFRESH_S = 5.0  # how often the open-requests-by-SLA-state gauge is set from the processor's counts


def _observe(result: Result, *, stage: str = AGENT, seconds: float | None = None) -> None:
    """Stage figures (in, out by outcome, rejections by reason, time) and the SLA and service-time figures."""
    now = time.time()
    if seconds is not None:
        metrics.stage_in(stage).inc()
        metrics.stage_seconds(stage).observe(seconds)
    metrics.stage_last(stage).set(now)
    for what, count in result.counts.items():
        if what.startswith("rejected:"):
            metrics.rejected(AGENT, what.split(":", 1)[1]).inc(count)
            metrics.stage_out(AGENT, "rejected").inc(count)
        elif what.startswith("sla_"):
            metrics.stage_out("sla", what.removeprefix("sla_")).inc(count)
        else:
            metrics.stage_out(AGENT, what).inc(count)
    for kind, agency, group, goal in result.sla:
        metric = {"warning": metrics.WARNINGS, "met": metrics.GOALS_MET, "breach": metrics.BREACHES}[kind]
        metric.labels(agency, group, goal).inc()
    for kind, seconds_taken, state in result.service_times:
        agency = state.agency or "triage"
        if kind == "acknowledge":
            metrics.TIME_TO_ACKNOWLEDGE.labels(agency).observe(seconds_taken)
            continue
        metrics.TIME_TO_RESOLVE.labels(agency).observe(seconds_taken)
        metrics.RESOLVE_BY_CHANNEL.labels(state.jurisdiction_id, state.channel).observe(seconds_taken)
        for layer, district in state.districts.items():
            metrics.RESOLVE_BY_DISTRICT.labels(state.jurisdiction_id, layer, district).observe(seconds_taken)


def refresh_open_requests(processor: LifecycleProcessor) -> None:
    """Set the open-requests gauge from the processor's counts (series that dropped to zero are set to zero)."""
    counts = processor.open_by_state()
    for labels in list(_open_series):
        if labels not in counts:
            metrics.OPEN_REQUESTS.labels(*labels).set(0)
    for labels, count in counts.items():
        metrics.OPEN_REQUESTS.labels(*labels).set(count)
        _open_series.add(labels)


_open_series: set[tuple[str, str]] = set()
