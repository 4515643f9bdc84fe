"""The Faust app: one stable id, broker settings tuned for both Apache Kafka and the embedded broker."""

import faust

from streams.kafka import security as kafka_security
from streams.observability import heap
from streams.settings import Settings


def create_app(settings: Settings, *, web_port: int | None = None) -> faust.App:
    """A Faust app configured from the settings; agents are registered by their domains. The corrections of
    streams/kafka are installed by the worker's start (streams.kafka.internals.install), not here."""
    datadir = settings.data_dir / "faust" / settings.app_id
    datadir.parent.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        broker_credentials=kafka_security.from_settings(settings).faust(),
        store="memory://",
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,  # the topics Faust declares itself too
        producer_acks=settings.producer_acks_count,
        consumer_auto_offset_reset="earliest",
        processing_guarantee=settings.processing_guarantee,  # exactly_once: see streams/kafka/transactions.py
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=1.0,
        broker_commit_interval=1.0,  # seconds of work a crashed worker leaves to redo (Faust default 2.8)
        producer_linger=settings.producer_linger_ms / 1000.0,
        producer_max_batch_size=65536,
        datadir=str(datadir),
        web_enabled=True,
        web_host=settings.web_host,
        web_port=web_port or settings.web_port,
        web_in_thread=False,
    )


def run_worker(app: faust.App, settings: Settings) -> None:
    """Run the app's agents in this process until SIGINT/SIGTERM, with the collector tuned for a stream worker.

    The pipeline worker and the bench's passthrough baseline both start here, so they differ only by their agents.
    """
    worker = faust.Worker(app, loglevel=settings.log_level, override_logging=False, redirect_stdouts=False,
                          quiet=True)
    heap.tune()
    heap.freeze("started")  # what lives as long as the worker is built by now
    worker.execute_from_commandline()
