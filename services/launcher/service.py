"""Start broker (unless KAFKA_BOOTSTRAP_SERVERS is set), topics, a worker and the demo feed; stop all on Ctrl-C."""

import os
import signal
import subprocess
import sys
import threading

import structlog
from kafka import KafkaConsumer

from services.broker import service as broker_service
from services.demo.agencies import DemoAgencies
from services.demo.feed import DemoFeed
from services.launcher import views
from services.notifier import service as notifier_service
from services.sdk.producer import RequestProducer
from services.sdk.updates import UpdateProducer
from streams import worker as stream_worker
from streams.contracts import codec as contract_codec
from streams.contracts import exceptions as contract_exceptions
from streams.contracts import schemas as contract_schemas
from streams.contracts import topics as contract_topics
from streams.jurisdiction import loader as jurisdiction_loader
from streams.observability import logs
from streams.settings import Settings

log = structlog.get_logger(__name__)


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that gives a child process these settings (every one, by its variable)."""
    env = dict(os.environ)
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        variable = field.validation_alias if isinstance(field.validation_alias, str) else name.upper()
        if value is None:
            env.pop(variable, None)
        else:
            env[variable] = str(value)
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers
    env["CIVICFLOW_LOG_FORMAT"] = "json"
    return {**env, **extra}


def start_process(args: list[str], *, env: dict[str, str], log_path) -> subprocess.Popen:
    """A child process (ended with this one) writing its output to a log file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    handle = log_path.open("wb")  # one run, one log
    return broker_service.child_process(args, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)


def start_worker(settings: Settings, *, web_port: int, log_path) -> subprocess.Popen:
    """`civicflow worker` as a child process writing its logs to a file."""
    env = worker_env(settings, CIVICFLOW_WEB_PORT=str(web_port))
    return start_process([sys.executable, "-m", "services.cli", "worker"], env=env, log_path=log_path)


def stop_process(process: subprocess.Popen, *, timeout_s: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after the timeout."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
        children["worker"] = start_worker(settings, web_port=web_port, log_path=logs_dir / "worker.log")
        for name in SERVICES:
            children[name] = start_process([sys.executable, "-m", "services.cli", name], env=worker_env(settings),
                                           log_path=logs_dir / f"{name}.log")
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
        for name in (*reversed(SERVICES), "worker"):
            if name in children:
                stop_process(children[name])
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
    codec = contract_codec.from_settings(settings.schema_registry_url)
    producer = RequestProducer(bootstrap_servers=settings.bootstrap_servers, topics=topics, codec=codec)
    feed = DemoFeed(producer=producer, jurisdiction=jurisdiction, rate=rate)
    updates = UpdateProducer(bootstrap_servers=settings.bootstrap_servers, topics=topics, codec=codec,
                             jurisdiction_id=jurisdiction.id)
    work = KafkaConsumer(*[topics.work(jurisdiction_id=jurisdiction.id, agency=a) for a in jurisdiction.agencies()],
                         bootstrap_servers=settings.bootstrap_servers, group_id=f"{settings.app_id}-demo-agencies",
                         auto_offset_reset="earliest", fetch_max_wait_ms=100, session_timeout_ms=6000,
                         heartbeat_interval_ms=1000)
    agencies = DemoAgencies(consumer=work, updates=updates)
    threads = [threading.Thread(target=feed.run, kwargs={"stop": stop}, daemon=True),
               threading.Thread(target=agencies.run, kwargs={"stop": stop, "decode": _decoder(codec)}, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        while not stop.wait(10.0):
            exited = [name for name, child in children.items() if child.poll() is not None]
            if exited:
                print(f"{', '.join(exited)} exited; see the logs", flush=True)
                return
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
