"""`civicflow tail` with the options kcat users expect, against the real broker: --partition, --offset,
--key, --exit and --format."""

import json
import subprocess
import sys
import time
import uuid

import pytest

from civicflow.services.launcher import service as launcher
from civicflow.services.sdk.producer import RequestProducer
from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

SERVICES = ["noise-residential", "street-sign-missing", "noise-commercial"]


def civicflow(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicflow.services.cli", *args], env=launcher.worker_env(settings),
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def submitted(broker, tmp_path_factory):
    """Twelve submissions on a topic of four partitions, sent in batches (the embedded broker's reported end
    offsets are then too small: --exit must still read every record); their receipts."""
    run = f"tail{uuid.uuid4().hex[:8]}"
    settings = Settings(kafka_bootstrap_servers=broker.bootstrap_servers, broker_kind=broker.kind,
                        topic_prefix=f"{run}.", app_id=f"civicflow-{run}", partitions=4,
                        data_dir=tmp_path_factory.mktemp(run), log_format="json")
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    contract_admin.ensure_topics(bootstrap_servers=settings.bootstrap_servers, security=kafka_security.PLAINTEXT,
                                 names=[topics.intake],
                                 partitions=4, replication_factor=1)
    with RequestProducer(bootstrap_servers=settings.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                         linger_ms=50, default_jurisdiction="nyc", codec=contract_codec.from_url(None)) as producer:
        pending = [producer.submit({"service_code": SERVICES[n % 3], "lat": 40.7580, "long": -73.9855,
                                    "channel": "mobile", "description": f"request {n}"})[1] for n in range(12)]
        producer.flush()
        receipts = [p.get() for p in pending]
    return settings, receipts


def _json(done) -> list[dict]:
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_exit_reads_every_record_to_the_end_and_stops(submitted):
    settings, receipts = submitted
    started = time.monotonic()
    records = _json(civicflow(settings, "tail", "requests.submitted", "--offset", "beginning", "--exit"))
    assert sorted(r["request_id"] for r in records) == sorted(r.request_id for r in receipts)
    assert time.monotonic() - started < 60
    assert _json(civicflow(settings, "tail", "requests.submitted", "--offset", "end", "--exit")) == []


def test_partition_and_offset_pick_the_records(submitted):
    settings, receipts = submitted
    partition = max({r.partition for r in receipts}, key=lambda p: sum(r.partition == p for r in receipts))
    mine = sorted((r for r in receipts if r.partition == partition), key=lambda r: r.offset)
    records = _json(civicflow(settings, "tail", "requests.submitted", "-p", str(partition), "-o", "beginning",
                              "-e"))
    assert [r["request_id"] for r in records] == [r.request_id for r in mine]
    second = _json(civicflow(settings, "tail", "requests.submitted", "-p", str(partition), "-o",
                             str(mine[1].offset), "-e"))
    assert [r["request_id"] for r in second] == [r.request_id for r in mine[1:]]
    last = _json(civicflow(settings, "tail", "requests.submitted", "-p", str(partition), "-o", "-1", "-e"))
    assert [r["request_id"] for r in last] == [mine[-1].request_id]


def test_key_filters_and_max_stops(submitted):
    settings, receipts = submitted
    records = _json(civicflow(settings, "tail", "requests.submitted", "--key", "nyc:noise-commercial",
                              "--offset", "beginning", "--exit"))
    assert len(records) == 4 and {r["service_code"] for r in records} == {"noise-commercial"}
    assert len(_json(civicflow(settings, "tail", "requests.submitted", "--offset", "beginning", "--max", "3"))) == 3


def test_table_format_has_a_header_and_a_row_per_event(submitted):
    settings, receipts = submitted
    done = civicflow(settings, "tail", "requests.submitted", "--offset", "beginning", "--exit", "--format", "table")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split()[:3] == ["partition", "offset", "time"] and len(rows) == 12
    assert all("nyc:" in row and "service_code=" in row for row in rows)


def test_an_unknown_topic_or_partition_is_said_plainly(submitted):
    settings, _ = submitted
    done = civicflow(settings, "tail", "requests.nothing", "--exit")
    assert done.returncode == 2 and "no topic" in done.stderr and "Traceback" not in done.stderr
    done = civicflow(settings, "tail", "requests.submitted", "--partition", "9", "--exit")
    assert done.returncode == 2 and "has no partition 9" in done.stderr and "Traceback" not in done.stderr
