"""Shared fixtures: one real broker per test session (embedded, or Apache Kafka with --broker=kafka); unique topics
and groups per test."""

import itertools
import os
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from civicflow.services.broker import service as broker_service
from civicflow.services.launcher import service as launcher
from civicflow.streams.kafka import offsets as kafka_offsets
from civicflow.streams.settings import REPO_ROOT, Settings
from tests.support import kafka as kafka_support
from tests.support import postgres as postgres_support

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
POSTGRES_URL_VARIABLE = "CIVICFLOW_TEST_POSTGRES_URL"


def _admin_connection(server_url: str):
    """An autocommit psycopg connection to the server's configured database, else to `postgres`."""
    import psycopg

    url = make_url(server_url)
    errors = []
    for database in dict.fromkeys([url.database, "postgres"]):
        try:
            return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                                   dbname=database, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as error:
            errors.append(f"{database}: {str(error).strip()}")
    raise ConnectionError("; ".join(errors))


def _unavailable(reason: str):
    """Skip a PostgreSQL test with the reason; in CI (CI=true) fail it instead, so it never skips silently."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a PostgreSQL server for the session: CIVICFLOW_TEST_POSTGRES_URL when set, else a throwaway
    cluster started here (tests/support/postgres.py) and removed at the end."""
    configured = os.environ.get(POSTGRES_URL_VARIABLE)
    if configured:
        yield configured
        return
    try:
        server = postgres_support.start_throwaway()
    except postgres_support.PostgresUnavailable as error:
        _unavailable(str(error))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server):
    """A PostgreSQL database created for this test session and dropped at its end, on postgres_server."""
    try:
        admin = _admin_connection(postgres_server)
    except ConnectionError as error:
        _unavailable(f"PostgreSQL not reachable at "
                     f"{make_url(postgres_server).render_as_string(hide_password=True)}: {error}")
    name = f"civicflow_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin_connection(postgres_server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_counter = itertools.count()


def pytest_addoption(parser):
    parser.addoption("--broker", choices=kafka_support.KINDS, default="embedded",
                     help="the broker the integration tests run on: embedded (the Tansu broker, default) or kafka "
                     "(Apache Kafka in KRaft mode: needs java, and mvn until its jars are cached)")


def pytest_report_header(config):
    return kafka_support.describe(config.getoption("--broker"), cluster="cluster" in (config.option.markexpr or ""))


@pytest.fixture(scope="session")
def broker(request):
    """The real broker, on free ports, for the whole session: embedded, or Apache Kafka with --broker=kafka.

    Its `kind` is the settings' broker_kind, so each correction of streams/kafka applies only where it is needed
    (in this process too: end offsets are corrected on the embedded broker only)."""
    kind = request.config.getoption("--broker")
    try:
        started = kafka_support.start(kind)
    except kafka_support.KafkaUnavailable as error:
        kafka_support.unavailable(str(error))
    kafka_offsets.assume_embedded(kind == "embedded")
    try:
        yield started
    finally:
        kafka_offsets.assume_embedded(None)
        kafka_support.discard(started)


def pytest_collection_modifyitems(config, items):
    """The `cluster` tests (three Apache Kafka nodes) run only when the marker expression names them
    (`-m cluster --broker=kafka`): neither a bare `pytest` nor `-m integration` selects them. The `own_platform`
    tests start a platform of their own on the embedded broker whatever --broker says: they run once, in the
    embedded run."""
    cluster_run = "cluster" in (config.option.markexpr or "")
    kafka_run = config.getoption("--broker") == "kafka"
    kept, dropped = [], []
    for item in items:
        drop = (not cluster_run and item.get_closest_marker("cluster")) or \
            (kafka_run and item.get_closest_marker("own_platform"))
        (dropped if drop else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def kafka_cluster(request):
    """Three Apache Kafka nodes forming one KRaft cluster (tests/support/kafka.py) for the session's `cluster`
    tests; they need `--broker=kafka`, and are skipped with the reason (failed in CI) without java."""
    if request.config.getoption("--broker") != "kafka":
        pytest.skip("the cluster tests run on Apache Kafka: -m cluster --broker=kafka")
    try:
        cluster = kafka_support.start_cluster()
    except kafka_support.KafkaUnavailable as error:
        kafka_support.unavailable(str(error))
    kafka_offsets.assume_embedded(False)
    try:
        yield cluster
    finally:
        kafka_offsets.assume_embedded(None)
        cluster.stop()


def _settings_factory(broker, tmp_path):
    def make(**overrides) -> Settings:
        run = f"t{next(_counter)}{uuid.uuid4().hex[:6]}"
        values = dict(kafka_bootstrap_servers=broker.bootstrap_servers, broker_kind=broker.kind,
                      topic_prefix=f"{run}.", app_id=f"civicflow-{run}", partitions=4, data_dir=tmp_path / run,
                      log_format="json", web_port=16066)
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def platform_settings(broker, tmp_path):
    """Factory of settings with topic names and consumer groups no other test uses."""
    return _settings_factory(broker, tmp_path)


@pytest.fixture
def cluster_settings(kafka_cluster, tmp_path):
    """Factory of settings on the three-node cluster, as production runs: every topic replicated 3 times with
    min.insync.replicas=2, producers waiting for all in-sync replicas."""
    make = _settings_factory(kafka_cluster, tmp_path)

    def make_replicated(**overrides) -> Settings:
        return make(**{"replication_factor": 3, "topic_min_insync_replicas": 2, "producer_acks": "all", **overrides})

    return make_replicated


class WorkerProcess:
    """`civicflow worker` (or another civicflow process) in a child process, logging to a file."""

    def __init__(self, settings: Settings, log_path: Path, command: str = "worker", **env: str) -> None:
        self.settings = settings
        self.log_path = log_path
        self.command = command
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log_path.open("ab")
        self.process = broker_service.child_process(
            [sys.executable, "-m", "civicflow.services.cli", self.command], env=launcher.worker_env(self.settings, **self.env),
            cwd=REPO_ROOT,
            stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def metrics(self) -> dict[tuple[str, tuple], float]:
        """The worker's /metrics samples, {(sample name, sorted label items): value}."""
        started = next(json.loads(line) for line in self.log().splitlines()
                       if line.startswith("{") and '"worker_starting"' in line)
        with urllib.request.urlopen(started["metrics"], timeout=5) as response:
            text = response.read().decode()
        return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    outcome = yield
    setattr(item, f"report_{call.when}", outcome.get_result())


@pytest.fixture
def start_worker(tmp_path, request):
    """Start workers (or other civicflow processes) for a test; every one still running is stopped afterwards,
    and when the test failed the end of each one's log is printed."""
    started = []

    def start(settings: Settings, name: str = "worker", command: str = "worker", **env: str) -> WorkerProcess:
        worker = WorkerProcess(settings, tmp_path / "logs" / f"{name}-{len(started)}.log", command, **env).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        for worker in started:
            print(f"\n----- {worker.log_path.name} (last 40 lines) -----\n" + "\n".join(worker.log().splitlines()[-40:]))


def wait_until(predicate, *, timeout_s: float, interval_s: float = 0.2, message: str = "condition"):
    """Poll until predicate() is truthy; returns its value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {message}")
