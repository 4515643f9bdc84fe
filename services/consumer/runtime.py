"""One consumer runtime for the processes that read topics with kafka-python (the projection, the notifier).

A process gives a handler; the runtime polls, hands each batch to it, and commits the batch's offsets only after
the handler returned, so a crash between the two re-delivers the batch (handlers are idempotent by event id:
at-least-once delivery, exactly-once effect). A batch that meets an unavailable dependency (the schema registry
for every consumer; the handler names its own, e.g. the database) is read again: its partitions are rewound and
nothing is committed, after a pause that doubles up to RETRY_MAX_S. SIGTERM and SIGINT stop the loop after the
batch in hand; /metrics is served for the process's lifetime.
"""

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from kafka import KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from prometheus_client import start_http_server

from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.kafka import groups as kafka_groups
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.observability.ports import claim_port
from civicflow.streams.settings import Settings

log = structlog.get_logger(__name__)

POLL_TIMEOUT_MS = 500
MAX_RECORDS = 500
RETRY_MAX_S = 30.0
# A topic a process reads may be created after it starts (by the first worker): Apache Kafka then assigns the
# group nothing until the client's metadata is refreshed, 5 minutes by default; every 5 s it joins within seconds.
METADATA_MAX_AGE_MS = 5_000


class Handler:
    """What a process does with its batches; it knows nothing of the consumer loop. Subclasses define `apply`
    and, where they need to, the other three."""

    def apply(self, messages: list) -> Any:
        """Handle a batch of kafka-python records; raise an error `transient` accepts to have it read again."""
        raise NotImplementedError

    def transient(self, error: BaseException) -> bool:
        """True for an error of the handler's own dependencies that says nothing about the records."""
        return False

    def observe(self, result: Any, seconds: float) -> None:
        """Count what `apply` returned, once the batch is committed (seconds: apply and commit)."""

    def retried(self, error: BaseException) -> None:
        """A batch is about to be read again because of `error`."""


def transient(handler: Handler, error: BaseException) -> bool:
    """The schema registry's outages are waited out by every consumer; other errors as the handler says."""
    return isinstance(error, contract_exceptions.RegistryError) or handler.transient(error)


def consume(consumer, handler: Handler, *, stop: threading.Event, poll_timeout_ms: int = POLL_TIMEOUT_MS,
            sleep: Callable[[float], bool] | None = None) -> None:
    """Poll, apply and commit until `stop` is set. A batch that fails transiently is read again (its partitions
    are rewound) after a growing pause; nothing is committed for it. Any other error of the handler propagates."""
    sleep = sleep or stop.wait
    backoff = 0.0
    while not stop.is_set():
        batch = consumer.poll(timeout_ms=poll_timeout_ms, max_records=MAX_RECORDS)
        if not batch:
            continue
        started = time.perf_counter()
        messages = [m for records in batch.values() for m in records]
        try:
            result = handler.apply(messages)
        except Exception as error:
            if not transient(handler, error):
                raise
            backoff = min(RETRY_MAX_S, backoff * 2 or 0.5)
            handler.retried(error)
            log.warning("batch_retry", error=f"{type(error).__name__}: {error}", records=len(messages),
                        retry_in_s=backoff)
            rewind(consumer, batch)
            sleep(backoff)
            continue
        backoff = 0.0
        try:
            consumer.commit(offsets(batch))
        except KafkaError as error:  # e.g. a rebalance took the partitions: their next owner re-applies, a no-op
            log.warning("commit_failed", error=f"{type(error).__name__}: {error}")
        handler.observe(result, time.perf_counter() - started)


def offsets(batch: Mapping) -> dict:
    """The offsets to commit after the batch: each partition's next record (with the last record's leader
    epoch, as kafka-python commits its own positions; it encodes the epoch as an int32, so never None)."""
    def epoch(record) -> int:
        value = getattr(record, "leader_epoch", None)
        return -1 if value is None else value

    return {tp: OffsetAndMetadata(records[-1].offset + 1, "", epoch(records[-1])) for tp, records in batch.items()}


def rewind(consumer, batch: Mapping) -> None:
    """Read the batch again from its first records (partitions taken away meanwhile are their new owner's)."""
    for tp, records in batch.items():
        try:
            consumer.seek(tp, records[0].offset)
        except KafkaError as error:
            log.info("rewind_skipped", topic=tp.topic, partition=tp.partition, error=str(error))


def session_timeout_ms(settings: Settings) -> int:
    """The readers' consumer group session timeout (CIVICFLOW_READER_SESSION_TIMEOUT_S). With 6 s, a projection
    starved of CPU (two cores shared by two brokers, workers and two test sessions) was found out of its group when
    it stopped, its read model unchanged for over a minute; it carries on after one expiry (the stall test), so
    the cost is in rejoining again and again while starved. A reader can wait longer for a crashed peer's
    partitions than a stream worker can."""
    return int(settings.reader_session_timeout_s * 1000)


def consumer_for(settings: Settings, *, group: str, topics: Sequence[str], fetch_max_wait_ms: int) -> KafkaConsumer:
    """A consumer of the group from the earliest offset, offsets committed by `consume` after each batch."""
    return kafka_groups.group_consumer(
        *topics, bootstrap_servers=settings.bootstrap_servers, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False, fetch_max_wait_ms=fetch_max_wait_ms, session_timeout_ms=session_timeout_ms(settings),
        heartbeat_interval_ms=1000, metadata_max_age_ms=METADATA_MAX_AGE_MS,
        isolation_level=settings.isolation_level,  # exactly_once: committed records only
        security=kafka_security.from_settings(settings))


def serve(settings: Settings, *, name: str, handler: Handler, connect: Callable[[], Any], metrics_port: int,
          stop: threading.Event | None = None, poll_timeout_ms: int = POLL_TIMEOUT_MS, **details) -> None:
    """Run `handler` on the consumer `connect()` makes until SIGINT/SIGTERM (or `stop` is set), with /metrics on
    the first free port from `metrics_port` on; logs `<name>_starting` (with `details`) and `<name>_stopped`.
    The process has configured its logs before."""
    stop = stop or threading.Event()
    port = claim_port(settings.web_host, metrics_port)
    server, _ = start_http_server(port, addr=settings.web_host)
    consumer = None
    try:
        with stopped_by_signals(stop):
            consumer = connect()
            log.info(f"{name}_starting", bootstrap=settings.bootstrap_servers,
                     metrics=f"http://{settings.web_host}:{port}/metrics", **details)
            consume(consumer, handler, stop=stop, poll_timeout_ms=poll_timeout_ms)
    finally:
        if consumer is not None:
            consumer.close(autocommit=False)
        server.shutdown()
        server.server_close()
        log.info(f"{name}_stopped")


@contextmanager
def stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set `stop` (the batch in hand is finished first) while inside; the previous handlers
    are put back on leaving. Only the main thread can do this; elsewhere `stop` is the only way out."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
