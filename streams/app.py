"""The Faust app: one stable id, broker settings tuned for both Apache Kafka and the embedded broker."""

import fcntl
import os
from pathlib import Path

import faust

from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.observability import heap
from civicflow.streams.settings import Settings


def create_app(settings: Settings, *, web_port: int | None = None) -> faust.App:
    """A Faust app configured from the settings; agents are registered by their domains. The corrections of
    streams/kafka are installed by the worker's start (civicflow.streams.kafka.internals.install), not here."""
    datadir = worker_dir(settings.data_dir / "faust" / settings.app_id)
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
        table_standby_replicas=settings.table_standby_replicas,
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


# The lifecycle table's RocksDB options (Faust's defaults are for a large server: a 2 GiB block cache and three
# 64 MiB write buffers per partition). States are read by request id, a few per event, and all at once only when
# timers are rebuilt: a small cache per partition is enough, and small write buffers keep a worker's memory for its
# timers. Faust passes a table's `options` to its RocksDB store.
ROCKSDB_OPTIONS = {"write_buffer_size": 4 << 20, "max_write_buffer_number": 2, "block_cache_size": 4 << 20,
                   "target_file_size_base": 16 << 20}


def table_store(settings: Settings) -> tuple[str, dict]:
    """(store URL, options) for a table kept as the settings say (CIVICFLOW_TABLE_STORE)."""
    if settings.table_store == "rocksdb":
        return "rocksdb://", dict(ROCKSDB_OPTIONS)
    return "memory://", {}


_held: dict[Path, tuple[Path, int]] = {}  # base directory → (this process's worker directory, its lock's fd)


def worker_dir(base: Path) -> Path:
    """This worker's own directory under `base`: the first of worker-0, worker-1, … that no other live process
    holds (a lock file, held until the process ends). Two workers of one app on one machine then keep their local
    tables apart (RocksDB opens a database in one process only), and a restarted worker finds its own again."""
    if base in _held:
        return _held[base][0]
    base.mkdir(parents=True, exist_ok=True)
    slot = 0
    while True:
        path = base / f"worker-{slot}"
        path.mkdir(exist_ok=True)
        fd = os.open(path / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            slot += 1
            continue
        _held[base] = (path, fd)
        return path

