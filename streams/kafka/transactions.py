"""Exactly-once processing on Apache Kafka: Faust's transactions, made to cover every record the agents write.

With `processing_guarantee="exactly_once"` Faust keeps one transactional producer per input partition number
(transactional id `{app id}-{topic group}-{partition}`; its assignor co-partitions every input topic, so partition
p of each topic belongs to one worker) and commits each input partition's offsets in that producer's transaction.
Faust's own `send` picks the producer by the partition of the *output* record, which puts an output in another
partition's transaction, one committed with other offsets (or in none: an output topic the app does not consume
has no group, and Faust raises KeyError). So the agents here write every record of an input (outputs and changelog
writes alike) with the transactional producer of that input's partition, `producer_for(app, topic, partition)`,
and acknowledge the input inside `outputs_of(app)`, which Faust's commit holds too (`civicflow.streams.kafka.patches`): a
commit then takes either an input's records and its acknowledgement, or neither.

`refusal(settings)` says why a worker cannot run exactly once on its broker: the embedded broker has no
transactions (it rejects the InitProducerId request aiokafka sends), and any other broker is probed with the
request itself.
"""

import asyncio
import contextlib
import logging
import uuid

from faust.types.enums import ProcessingGuarantee

from civicflow.streams.kafka import exceptions as kafka_exceptions
from civicflow.streams.kafka import security as kafka_security

PROBE_TIMEOUT_S = 20.0


def enabled(app) -> bool:
    """Whether the app runs with Kafka transactions."""
    return app.conf.processing_guarantee == ProcessingGuarantee.EXACTLY_ONCE


def _gate(app) -> asyncio.Lock:
    gate = getattr(app, "_civicflow_transaction_gate", None)
    if gate is None:
        gate = app._civicflow_transaction_gate = asyncio.Lock()
    return gate


def commit_gate(app) -> asyncio.Lock:
    """The lock Faust's commit holds from choosing the offsets to committing them (see patches)."""
    return _gate(app)


def outputs_of(app):
    """Context in which an agent writes an input's records and acknowledges it, so that no commit falls between
    (exactly_once); nothing to hold at least once, where records are written before the acknowledgement anyway."""
    return _gate(app) if enabled(app) else contextlib.nullcontext()


def transactional_id(app, *, topic: str, partition: int) -> str:
    """The id of the transactional producer whose transaction commits this input partition's offsets: Faust's
    TransactionManager.commit derives it the same way."""
    return f"{app.conf.id}-{app.assignor.group_for_topic(topic)}-{partition}"


def producer_for(app, *, topic: str, partition: int):
    """The aiokafka producer to write an input's records with: the transactional one of its partition
    (exactly_once), else the app's producer.

    Private attributes of Faust's aiokafka Producer: `_transaction_producers` (and `_trn_locks`, see `lock_for`)
    are where Faust keeps the per-partition producers it begins and commits; Faust has no public way to send a
    record batch in a given partition's transaction. Raises LookupError for a partition this worker no longer
    owns (revoked, or fenced by its new owner): the input is not acknowledged and its new owner processes it.
    """
    producer = app.producer
    if not enabled(app):
        return producer._ensure_producer()
    tid = transactional_id(app, topic=topic, partition=partition)
    found = producer._transaction_producers.get(tid)
    if found is None:
        raise LookupError(f"no transactional producer {tid}: partition {topic}[{partition}] is not this worker's")
    return found


def lock_for(app, *, topic: str, partition: int):
    """Faust's own lock of a transactional producer (held by its sends and commits); nothing at least once."""
    if not enabled(app):
        return contextlib.nullcontext()
    return app.producer._trn_locks[transactional_id(app, topic=topic, partition=partition)]


async def probe(bootstrap_servers: str, *, security: kafka_security.ClientSecurity,
                timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """None if the broker starts a transaction for aiokafka (InitProducerId, as each transactional producer of a
    worker does), else why not, in one line."""
    from aiokafka import AIOKafkaProducer

    quiet = logging.getLogger("aiokafka")  # it logs the refusal too; the caller says it once, in its own line
    level, quiet.level = quiet.level, logging.CRITICAL
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, client_id="civicflow-transaction-probe",
                                transactional_id=f"civicflow-transaction-probe-{uuid.uuid4().hex[:12]}",
                                enable_idempotence=True, acks="all", request_timeout_ms=int(timeout_s * 1000),
                                **security.aiokafka())
    try:
        await asyncio.wait_for(_begin_and_abort(producer), timeout=timeout_s)
    except asyncio.TimeoutError:
        return f"no transaction was started within {timeout_s:g} s"
    except Exception as error:  # any refusal: the broker's error, whatever aiokafka wraps it in
        return f"InitProducerId answered {type(error).__name__}: {error}".strip().splitlines()[0]
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), timeout=5.0)
        quiet.setLevel(level)
    return None


async def _begin_and_abort(producer) -> None:
    await producer.start()
    await producer.begin_transaction()  # waits for the producer id the broker grants
    await producer.abort_transaction()


def check(settings) -> None:
    """Raise TransactionsUnavailable (one line: why) if the worker cannot run with its processing guarantee."""
    reason = refusal(settings)
    if reason:
        raise kafka_exceptions.TransactionsUnavailable(reason)


def refusal(settings) -> str | None:
    """Why this worker cannot run with its processing guarantee, in one line; None if it can."""
    if not settings.exactly_once:
        return None
    if settings.on_embedded_broker:
        return ("CIVICFLOW_PROCESSING_GUARANTEE=exactly_once needs Kafka transactions, which the embedded broker "
                "does not have (CIVICFLOW_BROKER_KIND=embedded): use at_least_once there, or Apache Kafka")
    reason = asyncio.run(probe(settings.bootstrap_servers, security=kafka_security.from_settings(settings)))
    if reason:
        return (f"CIVICFLOW_PROCESSING_GUARANTEE=exactly_once needs Kafka transactions, and the broker at "
                f"{settings.bootstrap_servers} did not start one ({reason}): use at_least_once there")
    return None
