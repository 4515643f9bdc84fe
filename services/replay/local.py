"""`civicflow replay --engine local`: the replay's pipeline in one process, with no broker.

Streams and batches are one program: this engine calls the same stage code the workers run (the intake
`Pipeline`: validation, enrichment, routing; the `LifecycleProcessor` with its SLA timers on event time) over the
export sorted by event time, and hands their records to the same summary and read-model projection as the Kafka
engine. What Kafka adds (partitions, offsets, the order of routed records behind updates) is reproduced where it
decides an outcome: partitions by Kafka's key hash, so duplicate detection and watermarks see the same groups.
"""

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from civicflow.services.sdk import requests as sdk_requests
from civicflow.services.sdk import updates as sdk_updates
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.kafka import partitioner
from civicflow.streams.lifecycle.processor import LifecycleProcessor
from civicflow.streams.observability import heap
from civicflow.streams.pipeline import index as pipeline_index
from civicflow.streams.pipeline import models as pipeline_models
from civicflow.streams.pipeline import records as pipeline_records
from civicflow.streams.pipeline.stages import Pipeline

READ_AHEAD = 4096  # events whose submissions are made records and have their points looked up together


class _Kept:
    """A lifecycle record as the processor wrote it, standing in for its Avro bytes (see `_LocalCodec`)."""

    __slots__ = ("record",)

    def __init__(self, record: dict) -> None:
        self.record = record


class _LocalCodec:
    """The lifecycle processor's codec in the local engine: its lifecycle events stay records (the processor
    builds them with the contract's types already: aware datetimes, strings, floats), so the six or so a request
    produces are not encoded and decoded again; every other record goes through Avro as on Kafka. The engines'
    equivalence test (tests/services/replay/test_engines_integration.py) holds this to the Avro path."""

    def __init__(self, codec: contract_codec.Codec) -> None:
        self.codec = codec

    def encode(self, subject: str, record: dict):
        return _Kept(record) if subject == contract_schemas.LIFECYCLE else self.codec.encode(subject, record)

    def decode(self, subject: str, data):
        return data.record if isinstance(data, _Kept) else self.codec.decode(subject, data)


@dataclass
class Records:
    """What the topics would hold at the end of the replay, decoded, in the order each partition got them.

    With a `sink`, records are handed to it as they are made (`sink(kind, record)`, kind routed, rejected or
    lifecycle) and only counted here: a city's year streams into the read model in bounded memory."""

    routed: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    lifecycle: list[dict] = field(default_factory=list)
    dead_lettered: int = 0
    sink: Callable[[str, dict], None] | None = None
    counts: Counter = field(default_factory=Counter)

    def add(self, kind: str, record: dict) -> None:
        self.counts[kind] += 1
        if self.sink is None:
            getattr(self, kind).append(record)
        else:
            self.sink(kind, record)


class LocalEngine:
    """The intake pipeline and the lifecycle processor of one jurisdiction set, fed events in time order."""

    def __init__(self, *, settings, jurisdictions, codec: contract_codec.Codec | None = None,
                 sink: Callable[[str, dict], None] | None = None) -> None:
        self.codec = codec or contract_codec.from_settings(settings)
        self.topics = contract_topics.Topics(prefix="local.")
        self.partitions = settings.partitions
        index = pipeline_index.IntakeIndex({}, idempotency_window_ms=settings.idempotency_window_s * 1000)
        self.pipeline = Pipeline(jurisdictions=jurisdictions, codec=self.codec, topics=self.topics, index=index)
        options = stream_worker.lifecycle_options(settings.model_copy(update={"clock": "event",
                                                                              "notifications": False}))
        self.lifecycle = LifecycleProcessor(jurisdictions=jurisdictions, codec=_LocalCodec(self.codec),
                                            topics=self.topics, store={}, changelog_topic=None, options=options)
        self.records = Records(sink=sink)
        self._offsets = defaultdict(itertools.count)
        self._end_ms: int | None = None

    def run(self, *, reader, events: Iterable, progress=None) -> Records:
        """Every event in order (they are sorted by time; a list or a stream), then the end of the data on every
        partition. `progress.update()` is called once per event processed. Inside `heap.batch_job()`, what each
        chunk leaves alive (records, open requests) is settled out of later collections."""
        stream, last = iter(events), None
        while chunk := list(itertools.islice(stream, READ_AHEAD)):
            last = chunk[-1]
            self._chunk(reader, chunk, progress)
            heap.settle()
        if last is not None:
            end_ms = int(last.at.timestamp() * 1000) + 1
            for partition in range(self.partitions):
                self._lifecycle(self.lifecycle.on_watermark(partition=partition, watermark=end_ms))
        return self.records

    def _chunk(self, reader, chunk: list, progress) -> None:
        """The chunk's submissions are made records and their points looked up together first (neither depends
        on what came before); then its events go in order, each run of consecutive submissions decided as the
        intake agent decides a batch."""
        submitted = {n: self._submission(reader, event) for n, event in enumerate(chunk)
                     if event.kind == "submission"}
        self.pipeline.prefetch([submission for _, submission in submitted.values()])
        run: list = []
        for n, event in enumerate(chunk):
            if n in submitted:
                run.append(submitted[n])
            else:
                if run:
                    self._decide(run)
                    run = []
                self._update(reader, event)
            if progress is not None:
                progress.update()
        if run:
            self._decide(run)

    def _submission(self, reader, event) -> tuple[pipeline_models.Input, dict]:
        """The intake input (no bytes: the record stays a record) and the submission as the intake reads it."""
        record = sdk_requests.to_record(reader.request(event.row, submitted_at=event.at))
        key = sdk_requests.partition_key(record)
        partition = partitioner.partition_for(key, self.partitions)
        source = pipeline_models.Source(self.topics.intake, partition, next(self._offsets[("intake", partition)]))
        return pipeline_models.Input(key, None, source), pipeline_records.submission_as_read(record)

    def _decide(self, run: list[tuple[pipeline_models.Input, dict]]) -> None:
        """Decide submissions as the intake agent does, on the records themselves: what Kafka would carry is the
        same record through Avro (the engines' equivalence test holds this to the Avro path)."""
        inputs, submissions = zip(*run)
        for outcome in self.pipeline.decide(inputs, submissions):
            decided = outcome.decision
            if decided.kind == "rejected":  # rare: through Avro, as the Kafka engine reads it
                self.records.add("rejected", self.codec.decode(
                    contract_schemas.REJECTED, self.codec.encode(contract_schemas.REJECTED, decided.record)))
            elif decided.kind == "dead_lettered":
                self.records.dead_lettered += 1
            else:
                self._routed(pipeline_records.routed_as_read(decided.record))

    def _routed(self, record: dict) -> None:
        self.records.add("routed", record)
        partition = partitioner.partition_for(record["request_id"].encode(), self.partitions)
        offset = next(self._offsets[("routed", partition)])
        self._lifecycle(self.lifecycle.on_routed(record, partition=partition, offset=offset))

    def _update(self, reader, event) -> None:
        fields = reader.update(event.row, kind=event.kind, at=event.at)
        record = sdk_updates.update_record(**{k: fields[k] for k in (
            "request_id", "status", "agency", "jurisdiction_id", "note", "to_agency", "duplicate_of", "external_id",
            "update_id", "occurred_at")})
        # What the lifecycle agent gets from the updates topic, without the Avro round trip: the record has the
        # contract's fields and types, and its time becomes the milliseconds the topic would carry.
        update = {**record, "occurred_at": contract_codec.millis(record["occurred_at"])}
        partition = partitioner.partition_for(record["request_id"].encode(), self.partitions)
        self._lifecycle(self.lifecycle.on_update(update, partition=partition))

    def _lifecycle(self, result) -> None:
        for emit in result.events:
            if emit.topic == self.topics.lifecycle:
                self.records.add("lifecycle", self.lifecycle.codec.decode(contract_schemas.LIFECYCLE, emit.value))
            elif emit.topic == self.topics.rejected:
                self.records.add("rejected", self.codec.decode(contract_schemas.REJECTED, emit.value))
