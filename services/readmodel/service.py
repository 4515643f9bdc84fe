"""The projection process (`civicflow projection`): reads the routed, rejected and lifecycle topics into the
read model's database.

Each polled batch is decoded and applied in one database transaction; the consumer runtime
(services/consumer/runtime.py) commits its Kafka offsets only after that. A crash between the two re-delivers
the batch, which the projection's event-id de-duplication turns into a no-op: at-least-once delivery with an
exactly-once effect. Several processes may share the consumer group; they split the partitions.
"""

import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import structlog
from kafka import KafkaConsumer
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from structlog.contextvars import bound_contextvars

from civicflow.services.consumer import runtime as consumer_runtime
from civicflow.services.readmodel import db, projection
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.jurisdiction.exceptions import JurisdictionConfigError
from civicflow.streams.observability import logs, metrics
from civicflow.streams.settings import Settings

log = structlog.get_logger(__name__)

METRICS_PORT_OFFSET = 200  # the first port tried for /metrics is web_port + 200 (6266)
FETCH_MAX_WAIT_MS = 50
SUBJECTS = {"routed": contract_schemas.ROUTED, "rejected": contract_schemas.REJECTED,
            "lifecycle": contract_schemas.LIFECYCLE}

STAGE = "projection"
APPLIED = Counter("civicflow_projection_records_applied_total",
                  "Records the projection applied to the read model, by topic (routed, rejected, lifecycle).",
                  ["topic"])
DUPLICATES = Counter("civicflow_projection_records_duplicate_total",
                     "Re-delivered records the projection skipped (event id already applied), by topic.", ["topic"])
UNDECODABLE = Counter("civicflow_projection_records_undecodable_total",
                      "Records the projection could not decode and skipped, by topic and reason code.",
                      ["topic", "reason"])
FAILED = Counter("civicflow_projection_records_failed_total",
                 "Decoded records the projection could not apply and skipped (logged with the error), by topic.",
                 ["topic"])
RETRIES = Counter("civicflow_projection_batch_retries_total",
                  "Batches read again because the database or the schema registry was unavailable.")
BATCH_SECONDS = Histogram("civicflow_projection_batch_duration_seconds",
                          "Time to decode and apply one polled batch and commit its offsets.",
                          buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
LAST_APPLIED = Gauge("civicflow_projection_last_applied_timestamp_seconds",
                     "Unix time at which the projection last applied a record of the topic.", ["topic"])

# Errors worth waiting out: the database unreachable, restarting, locked or in a deadlock, the schema registry
# unreachable (which the consumer runtime waits out for every consumer too). Any other error of a batch is looked
# for record by record, and the records that fail alone are skipped (counted and logged).
TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError, contract_exceptions.RegistryError)


def transient(error: BaseException) -> bool:
    """True for an error that says nothing about the records: retry them later."""
    return isinstance(error, TRANSIENT) or (isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A record of a batch, decoded, with the topic kind it came from."""

    kind: str
    record: dict
    topic: str
    partition: int
    offset: int


@dataclass
class BatchResult:
    """What one batch did."""

    applied: Tally = field(default_factory=Tally)
    duplicates: Tally = field(default_factory=Tally)
    undecodable: Tally = field(default_factory=Tally)   # (kind, reason) -> count
    failed: Tally = field(default_factory=Tally)


class Projector(consumer_runtime.Handler):
    """Decodes and applies batches of consumer records: the consumer runtime's handler for the projection."""

    def __init__(self, *, engine: Engine, codec: contract_codec.Codec, kinds: Mapping[str, str],
                 catalog: projection.Catalog | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = engine
        self.codec = codec
        self.kinds = dict(kinds)   # topic name -> routed, rejected or lifecycle
        self.catalog = catalog
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def apply(self, messages: list) -> BatchResult:
        """Decode and apply one polled batch (the runtime commits it after this returns)."""
        result = BatchResult()
        self.apply_decoded(self.decode(messages, result), result)
        return result

    def transient(self, error: BaseException) -> bool:
        return transient(error)

    def retried(self, error: BaseException) -> None:
        RETRIES.inc()

    def observe(self, result: BatchResult, seconds: float) -> None:
        _observe(result, seconds)

    def decode(self, messages, result: BatchResult) -> list[Decoded]:
        """The batch's records that decode as the topic's record type; the others are counted and logged."""
        decoded = []
        for message in messages:
            kind = self.kinds[message.topic]
            try:
                subject = self.codec.subject_of(message.value)
                if subject != SUBJECTS[kind]:
                    raise contract_exceptions.SchemaNotReadable(f"a {subject} record on the {kind} topic")
                record = self.codec.decode(subject, message.value)
            except contract_exceptions.DecodeError as error:
                result.undecodable[(kind, error.code)] += 1
                log.warning("record_undecodable", topic=message.topic, partition=message.partition,
                            offset=message.offset, reason=error.code, error=str(error))
                continue
            decoded.append(Decoded(kind, record, message.topic, message.partition, message.offset))
        return decoded

    def apply_decoded(self, decoded: list[Decoded], result: BatchResult) -> None:
        """Apply the batch in one transaction; when it fails for another reason than an unavailable database,
        apply it record by record and skip (count, log) the records that fail on their own."""
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                outcomes = [(item, self._apply_one(conn, item, now)) for item in decoded]
        except Exception as failure:
            if transient(failure):
                raise
            log.exception("batch_failed_applying_record_by_record", records=len(decoded))
            outcomes = []
            for item in decoded:
                try:
                    with self.engine.begin() as conn:
                        outcomes.append((item, self._apply_one(conn, item, now)))
                except Exception as error:
                    if transient(error):
                        raise
                    result.failed[item.kind] += 1
                    log.error("record_failed", topic=item.topic, partition=item.partition, offset=item.offset,
                              event_id=item.record.get("event_id"), request_id=item.record.get("request_id"),
                              error=f"{type(error).__name__}: {error}")
        for item, applied in outcomes:
            (result.applied if applied else result.duplicates)[item.kind] += 1

    def _apply_one(self, conn, item: Decoded, now: datetime) -> bool:
        with bound_contextvars(topic=item.topic, partition=item.partition, offset=item.offset,
                               request_id=item.record.get("request_id")):
            applied = projection.apply(conn, topic_kind=item.kind, record=item.record, now=now, catalog=self.catalog)
            log.info("record_applied" if applied else "record_already_applied", kind=item.kind,
                     event_id=item.record.get("event_id"))
            return applied


def _observe(result: BatchResult, seconds: float) -> None:
    BATCH_SECONDS.observe(seconds)
    now = time.time()
    records = sum(result.applied.values()) + sum(result.duplicates.values()) + sum(result.undecodable.values()) \
        + sum(result.failed.values())
    if records:  # the platform's per-stage view of the projection
        metrics.stage_in(STAGE).inc(records)
        metrics.stage_out(STAGE, "applied").inc(sum(result.applied.values()))
        metrics.stage_out(STAGE, "duplicate").inc(sum(result.duplicates.values()))
        for (_, reason), count in result.undecodable.items():
            metrics.dead_lettered(STAGE, reason).inc(count)
        if result.failed:
            metrics.dead_lettered(STAGE, "processing_error").inc(sum(result.failed.values()))
        metrics.stage_seconds(STAGE).observe(seconds / records)
        metrics.stage_last(STAGE).set(now)
    for kind, count in result.applied.items():
        APPLIED.labels(kind).inc(count)
        LAST_APPLIED.labels(kind).set(now)
    for kind, count in result.duplicates.items():
        DUPLICATES.labels(kind).inc(count)
    for (kind, reason), count in result.undecodable.items():
        UNDECODABLE.labels(kind, reason).inc(count)
    for kind, count in result.failed.items():
        FAILED.labels(kind).inc(count)
    if result.applied or result.duplicates or result.undecodable or result.failed:
        log.debug("batch_applied", seconds=round(seconds, 4), applied=sum(result.applied.values()),
                  duplicates=sum(result.duplicates.values()), undecodable=sum(result.undecodable.values()),
                  failed=sum(result.failed.values()))


def consumer_for(settings: Settings, topics: list[str]) -> KafkaConsumer:
    """The projection's consumer: its own group, offsets committed by hand after each applied batch."""
    return consumer_runtime.consumer_for(settings, group=f"{settings.app_id}-readmodel", topics=topics,
                                         fetch_max_wait_ms=FETCH_MAX_WAIT_MS)


def _catalog(settings: Settings) -> projection.Catalog | None:
    """Service names for rows the routed record has not filled yet; the projection runs without them."""
    try:
        return projection.catalog_of(jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir))
    except JurisdictionConfigError as error:
        log.warning("jurisdictions_unavailable", error=str(error))
        return None


def run(settings: Settings, *, port: int | None = None, stop: threading.Event | None = None) -> None:
    """Run the projection until SIGINT/SIGTERM (or `stop` is set): migrate, then consume.

    /metrics listens on `port`, or the first free port from web_port + 200 (6266) on.
    """
    logs.configure(log_format=settings.log_format, level=settings.log_level)
    engine = db.engine_for(settings.read_model_url)
    db.migrate(engine)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    kinds = {topics.routed: "routed", topics.rejected: "rejected", topics.lifecycle: "lifecycle"}
    projector = Projector(engine=engine, codec=contract_codec.from_settings(settings),
                          kinds=kinds, catalog=_catalog(settings))
    metrics.zero(STAGE, outcomes=("applied", "duplicate"))
    try:
        consumer_runtime.serve(
            settings, name="projection", handler=projector, connect=lambda: consumer_for(settings, list(kinds)),
            metrics_port=port if port is not None else settings.web_port + METRICS_PORT_OFFSET, stop=stop,
            group=f"{settings.app_id}-readmodel", topics=list(kinds),
            database=engine.url.render_as_string(hide_password=True))
    finally:
        engine.dispose()
