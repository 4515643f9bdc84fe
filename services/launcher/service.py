"""Start broker (unless KAFKA_BOOTSTRAP_SERVERS is set), topics, a worker and the demo feed; stop all on Ctrl-C.

A child that exits (a worker, the projection, the notifier, the API) is started again after a backoff (1 s, then
2, 4, ... up to 30 s while it keeps failing; back to 1 s once it has run for a minute), and the launcher says so;
the broker is never stopped because a child died, so nothing that reached it is lost. Only Ctrl-C (or SIGTERM)
stops everything.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from civicflow.services.broker import service as broker_service
from civicflow.services.consumer import runtime as consumer_runtime
from civicflow.services.demo.agencies import DemoAgencies
from civicflow.services.demo.feed import DemoFeed
from civicflow.services.launcher import views
from civicflow.services.notifier import service as notifier_service
from civicflow.services.sdk.producer import RequestProducer
from civicflow.services.sdk.updates import UpdateProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import groups as kafka_groups
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.observability import logs
from civicflow.streams.settings import Settings

log = structlog.get_logger(__name__)


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that gives a child process these settings (every one, by its variable)."""
    env = dict(os.environ)
    for name, spec in Settings.model_fields.items():
        value = getattr(settings, name)
        variable = spec.validation_alias if isinstance(spec.validation_alias, str) else name.upper()
        if value is None:
            env.pop(variable, None)
        else:
            env[variable] = str(value)
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers
    env["CIVICFLOW_LOG_FORMAT"] = "json"
    return {**env, **extra}


def start_process(args: list[str], *, env: dict[str, str], log_path, append: bool = False) -> subprocess.Popen:
    """A child process (ended with this one) writing its output to a log file (a restart appends to it)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab" if append else "wb") as handle:  # one run, one log; the child keeps its own handle
        return broker_service.child_process(args, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)


BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # waits before restarting a child that keeps exiting
STABLE_S = 60.0                              # a child that ran this long starts again from the first wait


@dataclass
class Child:
    """One supervised process: how to start it, and its restarts."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures: int = 0             # exits in a row that came before STABLE_S
    restart_at: float | None = None
    history: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> "Child":
        self.process = start_process(self.args, env=self.env, log_path=self.log_path, append=self.restarts > 0)
        self.started_at = time.monotonic()
        return self

    def poll(self):
        return self.process.poll() if self.process is not None else None


class Supervisor:
    """Restarts children that exit, with backoff; `say` tells the terminal, the log gets child_exited and
    child_restarted."""

    def __init__(self, children: dict[str, Child], *, say=print, clock=time.monotonic) -> None:
        self.children = children
        self.say = say
        self.clock = clock

    def check(self) -> None:
        now = self.clock()
        for child in self.children.values():
            if child.restart_at is None and child.poll() is not None:
                code = child.process.returncode
                child.failures = 0 if now - child.started_at >= STABLE_S else child.failures
                delay = BACKOFF_S[min(child.failures, len(BACKOFF_S) - 1)]
                child.failures += 1
                child.restart_at = now + delay
                how = f"signal {-code}" if code < 0 else f"code {code}"
                self.say(f"{child.name} (pid {child.pid}) exited with {how}; restarting it in {delay:g} s "
                         f"(the broker and the other processes keep running)")
                log.warning("child_exited", child=child.name, pid=child.pid, returncode=code, restart_in_s=delay,
                            log=str(child.log_path))
            elif child.restart_at is not None and now >= child.restart_at:
                old = child.pid
                child.restarts += 1
                child.restart_at = None
                child.start()
                child.history.append(f"{old}->{child.pid}")
                self.say(f"{child.name} restarted (pid {child.pid}, restart {child.restarts}); its log "
                         f"continues in {child.log_path}")
                log.info("child_restarted", child=child.name, pid=child.pid, previous_pid=old,
                         restarts=child.restarts)

    def stop_all(self, order) -> None:
        for name in order:
            child = self.children.get(name)
            if child is not None and child.process is not None:
                child.restart_at = None
                stop_process(child.process)


def start_worker(settings: Settings, *, web_port: int, log_path) -> subprocess.Popen:
    """`civicflow worker` as a child process writing its logs to a file."""
    env = worker_env(settings, CIVICFLOW_WEB_PORT=str(web_port))
    return start_process([sys.executable, "-m", "civicflow.services.cli", "worker"], env=env, log_path=log_path)


def stop_process(process: subprocess.Popen, *, timeout_s: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after the timeout (the brokers' own stop, broker_service.terminate)."""
    broker_service.terminate(process, timeout_s=timeout_s)


SERVICES = ("projection", "notifier", "api")  # started after the worker, stopped before it


def run(settings: Settings, *, rate: float = 5.0, jurisdiction_id: str = "nyc") -> int:
    """Run everything until Ctrl-C or SIGTERM."""
    logs.configure(log_format=settings.log_format, level=settings.log_level)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C stops everything, even when started from a shell that ignores SIGINT for background jobs
    signal.signal(signal.SIGINT, signal.default_int_handler)
    broker, children = None, {}
    if settings.uses_embedded_broker:
        broker = broker_service.EmbeddedBroker(host=settings.embedded_broker_host,
                                               port=settings.embedded_broker_port).start()
        _fresh_read_model(settings)
    try:
        jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
        stream_worker.ensure_topics(settings, jurisdictions)
        web_port = stream_worker.free_port(settings.web_host, settings.web_port)
        api_port = stream_worker.free_port(settings.api_host, settings.api_port)
        settings = settings.model_copy(update={"api_port": api_port})
        logs_dir = settings.data_dir / "logs"
        children["worker"] = Child("worker", [sys.executable, "-m", "civicflow.services.cli", "worker"],
                                   worker_env(settings, CIVICFLOW_WEB_PORT=str(web_port)),
                                   logs_dir / "worker.log").start()
        for name in SERVICES:
            children[name] = Child(name, [sys.executable, "-m", "civicflow.services.cli", name], worker_env(settings),
                                   logs_dir / f"{name}.log").start()
        metrics_url = f"http://{settings.web_host}:{web_port}/metrics"
        print(views.banner(broker=settings.bootstrap_servers, embedded=broker is not None, children=children,
                           metrics_url=metrics_url, logs_dir=str(logs_dir), rate=rate,
                           api_url=f"http://{settings.api_host}:{api_port}/open311/v2/",
                           outbox=str(notifier_service.outbox_path(settings)), read_model=settings.read_model_url,
                           specs=stream_worker.all_topic_specs(settings, jurisdictions)), flush=True)
        _feed_until_stopped(settings, jurisdictions[jurisdiction_id], children=children, stop=stop,
                            rate=rate, metrics_url=metrics_url)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        print("stopping…", flush=True)
        Supervisor(children).stop_all((*reversed(SERVICES), "worker"))
        if broker is not None:
            broker.stop()
        print("stopped: no civicflow process left running", flush=True)
    return 0


def _fresh_read_model(settings: Settings) -> None:
    """The embedded broker starts empty, so do the SQLite read model and the notification outbox it feeds (a
    database given by DATABASE_URL and an outbox given by CIVICFLOW_NOTIFICATIONS_FILE are left alone)."""
    if settings.notifications_file is None:
        notifier_service.outbox_path(settings).unlink(missing_ok=True)
    if settings.database_url is None:
        for suffix in ("", "-wal", "-shm"):
            (settings.data_dir / f"readmodel.sqlite3{suffix}").unlink(missing_ok=True)


def _feed_until_stopped(settings, jurisdiction, *, children, stop, rate, metrics_url) -> None:
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    codec = contract_codec.from_settings(settings)
    security = kafka_security.from_settings(settings)
    producer = RequestProducer(bootstrap_servers=settings.bootstrap_servers, security=security, topics=topics,
                               codec=codec)
    feed = DemoFeed(producer=producer, jurisdiction=jurisdiction, rate=rate)
    updates = UpdateProducer(bootstrap_servers=settings.bootstrap_servers, security=security, topics=topics,
                             codec=codec,
                             jurisdiction_id=jurisdiction.id)
    work = kafka_groups.group_consumer(
        *[topics.work(jurisdiction_id=jurisdiction.id, agency=a) for a in jurisdiction.agencies()],
        bootstrap_servers=settings.bootstrap_servers, group_id=f"{settings.app_id}-demo-agencies",
        auto_offset_reset="earliest", fetch_max_wait_ms=100,
        session_timeout_ms=consumer_runtime.session_timeout_ms(settings), heartbeat_interval_ms=1000,
        isolation_level=settings.isolation_level, security=security)
    agencies = DemoAgencies(consumer=work, updates=updates)
    threads = [threading.Thread(target=feed.run, kwargs={"stop": stop}, daemon=True),
               threading.Thread(target=agencies.run, kwargs={"stop": stop, "decode": _decoder(codec)}, daemon=True)]
    for thread in threads:
        thread.start()
    supervisor = Supervisor(children, say=lambda text: print(text, flush=True))
    next_progress = time.monotonic() + 10.0
    try:
        while not stop.wait(0.5):
            supervisor.check()
            if time.monotonic() >= next_progress:
                next_progress += 10.0
                print(views.progress(metrics_url=metrics_url, sent=feed.sent, updates=agencies.sent), flush=True)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        producer.close()
        updates.close()
        work.close()


def _decoder(codec):
    def decode(value: bytes) -> dict | None:
        try:
            return codec.decode(contract_schemas.ROUTED, value)
        except contract_exceptions.ContractError:
            return None
    return decode
