"""The intake agent: one pass from intake to the agency's work topic (validate → enrich → route).

Events are taken in small batches (at most BATCH_MAX, waiting at most `batch_within_s` for a batch to fill), which
saves Faust's per-event agent overhead. A batch is decoded and its points looked up together, then each event is
decided, the batch's records are encoded, each event is counted and logged on its own terms, and the batch's
records go to the producer together before Faust acknowledges the batch (streams/pipeline/stages.py).
"""

import asyncio
import functools
import itertools
import logging
import time
from collections import defaultdict

import faust
import structlog

from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.kafka import internals as kafka_internals
from civicflow.streams.kafka import partitioner as kafka_partitioner
from civicflow.streams.kafka import transactions as kafka_transactions
from civicflow.streams.observability import logs, metrics
from civicflow.streams.pipeline import index as pipeline_index
from civicflow.streams.pipeline import models as pipeline_models
from civicflow.streams.pipeline.stages import Pipeline
from civicflow.streams.validation import models as validation_models

AGENT = "intake"
BATCH_MAX = 500
REGISTRY_RETRY_MAX_S = 10.0
log = structlog.get_logger(__name__)


def register(app: faust.App, *, build_pipeline, intake_topic: str, changelog_topic: str, idempotency_window_s: int,
             batch_within_s: float = 0.015, sink=None):
    """Declare the intake index table and the agent; `build_pipeline(index, changelog_topic)` makes the Pipeline.

    The index reads and writes the table's in-memory data; the pipeline sends each write to the changelog
    itself, with the event's other outputs, and Faust restores the table from it on recovery, after which the
    index re-schedules the expiry of the entries of the partitions this worker owns.
    `sink` receives what the agent emits: the app's producer unless a test gives its own.
    """
    changelog = app.topic(changelog_topic, key_serializer="json", value_serializer="json", internal=True,
                          partitions=app.conf.topic_partitions, compacting=True, deleting=False)
    table = app.Table("intake_index", default=None, partitions=app.conf.topic_partitions, changelog_topic=changelog)
    index = pipeline_index.IntakeIndex(kafka_internals.table_dict(table),
                                       idempotency_window_ms=idempotency_window_s * 1000)
    pipeline: Pipeline = build_pipeline(index, changelog_topic)
    topic = app.topic(intake_topic, key_serializer="raw", value_serializer="raw")
    sink = sink or ProducerSink(app)

    metrics.zero("validate", outcomes=("accepted", "rejected", "dead_lettered"),
                 reasons=tuple(validation_models.REASON_CODES))
    metrics.zero("enrich", outcomes=("enriched",), dead_letters=())
    metrics.zero("route", outcomes=("routed", "triage", "duplicate"), dead_letters=())

    @app.agent(topic, name=AGENT)
    async def intake(stream):
        async for events in stream.take_events(BATCH_MAX, within=batch_within_s):
            async with kafka_transactions.outputs_of(app):  # exactly_once: no commit between sending and acking
                await handle(messages=[event.message for event in events], pipeline=pipeline, sink=sink)
                for event in events:
                    await stream.ack(event)  # take_events acks them again after this block: a no-op then

    @table.on_recover
    async def rebuild_expiry():
        owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == intake_topic}
        log.info("intake_index_rebuilt", partitions=sorted(owned), entries=index.rebuild(owned))

    @app.on_partitions_revoked.connect
    async def forget_revoked(sender, revoked, **kwargs):
        index.revoke({tp.partition for tp in revoked if tp.topic == intake_topic})

    return intake


class ProducerSink:
    """Hands the records of a batch's inputs of one partition to the producer as one record batch per topic
    partition.

    aiokafka's `send` costs a future per record; a batch builder does not. Records without a partition go where
    `send` would put them: by the default partitioner's hash of their key (the app sets no other partitioner).
    At least once, the producer is the app's, which Faust flushes before every offset commit, so a batch is
    delivered before its input is committed. With exactly_once it is the transactional producer of the inputs'
    partition, whose transaction commits the records with that partition's offsets (streams/kafka/transactions).
    """

    def __init__(self, app: faust.App) -> None:
        self.app = app

    async def send_all(self, emits: list, *, source: tuple[str, int]) -> None:
        """Send the records of inputs read from `source` (topic, partition)."""
        topic, partition = source
        producer = kafka_transactions.producer_for(self.app, topic=topic, partition=partition)
        async with kafka_transactions.lock_for(self.app, topic=topic, partition=partition):
            for (topic, partition), records in (await self._by_partition(producer, emits)).items():
                batch = producer.create_batch()
                for emit in records:
                    if batch.append(key=emit.key, value=emit.value, timestamp=None) is None:  # full: send, anew
                        await self._send(producer, batch, topic, partition)
                        batch = producer.create_batch()
                        batch.append(key=emit.key, value=emit.value, timestamp=None)
                await self._send(producer, batch, topic, partition)

    async def _by_partition(self, producer, emits: list) -> dict[tuple[str, int], list]:
        """The records per (topic, partition), in order."""
        grouped, counts = defaultdict(list), {}
        for emit in emits:
            partition = emit.partition
            if partition is None:
                if emit.topic not in counts:  # waits for the topic's metadata if need be
                    counts[emit.topic] = len(await producer.partitions_for(emit.topic))
                if emit.key is None:  # the partitioner picks any partition
                    partition = self.app.producer.key_partition(emit.topic, None).partition
                else:  # as aiokafka's default partitioner and Kafka's Java client choose
                    partition = kafka_partitioner.partition_for(emit.key, counts[emit.topic])
            grouped[(emit.topic, partition)].append(emit)
        return grouped

    @staticmethod
    async def _send(producer, batch, topic: str, partition: int) -> None:
        batch.close()  # complete: the sender need not wait for it to linger
        await producer.send_batch(batch, topic, partition=partition)


def _input(message) -> pipeline_models.Input:
    return pipeline_models.Input(message.key, message.value,
                                 pipeline_models.Source(message.topic, message.partition, message.offset))


async def handle(*, messages: list, pipeline: Pipeline, sink) -> None:
    """Decide each intake message of a batch, encode the batch's records, count and log each outcome, then send
    their records, those of each input partition together; never raises for bad input."""
    inputs = [_input(message) for message in messages]
    decoded = await _retrying(pipeline.decode, inputs=inputs)
    outcomes = pipeline.decide(inputs, decoded)
    await _retrying(pipeline.encode, inputs=inputs, outcomes=outcomes)
    emits, tally = defaultdict(list), metrics.Tally()
    verbose = logging.getLogger(__name__).isEnabledFor(logging.INFO)  # below it, info lines are not even built
    for message, outcome in zip(messages, outcomes):
        emits[(message.topic, message.partition)].extend(outcome.emits)
        with logs.bound_source(message.topic, message.partition, message.offset):
            _observe(outcome, message, tally, verbose=verbose)
    tally.apply()
    for source, records in emits.items():  # per input partition: each one's records commit with its offsets
        await sink.send_all(records, source=source)


async def _retrying(call, **arguments):
    """call(**arguments); while the schema registry cannot be reached, wait and try again (the input is not at
    fault)."""
    for attempt in itertools.count():
        try:
            return call(**arguments)
        except contract_exceptions.RegistryError as error:
            delay = min(REGISTRY_RETRY_MAX_S, 0.1 * 2 ** attempt)
            log.warning("schema_registry_unavailable", error=str(error), retry_in_s=delay)
            await asyncio.sleep(delay)


def _observe(outcome, message, tally: metrics.Tally, *, verbose: bool) -> None:
    """Histograms are observed now; counts and last-processed times go to the batch's tally."""
    for stage, seconds in outcome.timings.items():
        metrics.stage_seconds(stage).observe(seconds)
    kind, labels = outcome.kind, outcome.labels
    tally.add(_updates(stages=tuple(outcome.timings), kind=kind, reasons=outcome.reasons,
                       labels=(labels.get("jurisdiction"), labels.get("agency"), labels.get("channel"))))
    if kind == "dead_lettered":
        log.warning("dead_lettered", reason=outcome.reasons[0])
    elif kind == "rejected":
        if verbose:
            log.info("rejected", request_id=outcome.request_id, reasons=list(outcome.reasons))
    else:
        metrics.INTAKE_TO_ROUTED.observe(max(0.0, time.time() - message.timestamp))
        if verbose:
            log.info(kind, request_id=outcome.request_id, agency=labels["agency"] or None)


@functools.lru_cache(maxsize=4096)
def _updates(*, stages: tuple[str, ...], kind: str, reasons: tuple[str, ...], labels: tuple) -> metrics.Updates:
    """What an outcome of this kind counts: per stage it passed, in and the last-processed time; out by outcome;
    rejections and dead letters by reason; routed requests by jurisdiction, agency and channel. Outcomes repeat
    a few kinds, so each is worked out once."""
    counters = [metrics.stage_in(stage) for stage in stages]
    if kind == "rejected":
        counters += [metrics.stage_out("validate", "rejected"), *(metrics.rejected("validate", r) for r in reasons)]
    elif kind == "dead_lettered":
        counters += [metrics.stage_out("validate", "dead_lettered"), metrics.dead_lettered("validate", reasons[0])]
    else:
        counters += [metrics.stage_out("validate", "accepted"), metrics.stage_out("enrich", "enriched"),
                     metrics.stage_out("route", kind), metrics.routed(*labels)]
    return metrics.Updates(counters=tuple(counters), stamped=tuple(metrics.stage_last(stage) for stage in stages))
