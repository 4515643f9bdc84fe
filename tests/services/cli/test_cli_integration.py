"""`civicflow submit` and `civicflow tail` as a user runs them, against the real broker."""

import json
import subprocess
import sys

import pytest

from civicflow.services.launcher import service as launcher
from civicflow.services.sdk.producer import RequestProducer
from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import REPO_ROOT

pytestmark = pytest.mark.integration

LINES = [
    {"service_code": "noise-residential", "lat": 40.7580, "long": -73.9855, "channel": "mobile",
     "attribute": {"descriptor": "loud-music-party"}, "description": "party", "email": "ana@example.org",
     "idempotency_key": "k-1"},
    {"service_code": "street-sign-missing", "address_string": "186 25 STREET, BROOKLYN", "channel": "phone"},
    {"service_code": "x", "channel": "fax"},
]


def civicflow(settings, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicflow.services.cli", *args], env=launcher.worker_env(settings),
                          cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture
def settings(platform_settings):
    settings = platform_settings()
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    contract_admin.ensure_topics(bootstrap_servers=settings.bootstrap_servers, security=kafka_security.PLAINTEXT,
                                 names=[topics.intake],
                                 partitions=settings.partitions, replication_factor=1)
    return settings


def test_submit_prints_a_request_id_per_line_and_tail_decodes_them(settings, tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in LINES) + "\nnot json\n")
    submitted = civicflow(settings, "submit", str(path))
    out = [json.loads(line) for line in submitted.stdout.splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4]
    assert all(len(o["request_id"]) == 36 for o in out[:2])
    assert "channel 'fax'" in out[2]["error"] and "error" in out[3]
    assert submitted.returncode == 1, "a line that could not be submitted makes the command fail"

    tailed = civicflow(settings, "tail", "requests.submitted", "--from-beginning", "--max", "5", "--timeout", "5")
    records = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert sorted(r["request_id"] for r in records) == sorted(o["request_id"] for o in out[:2])
    noise = next(r for r in records if r["service_code"] == "noise-residential")
    assert noise["attributes"] == {"descriptor": ["loud-music-party"]} and noise["channel"] == "mobile"
    assert noise["jurisdiction_id"] == "nyc" and noise["submitted_at"].endswith("+00:00")


def test_tail_shows_undecodable_bytes_instead_of_crashing(settings):
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    with RequestProducer(bootstrap_servers=settings.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=contract_codec.from_url(None)) as producer:
        producer.send_raw(key=b"k", value=b"garbage").get(timeout=10)
    tailed = civicflow(settings, "tail", "requests.submitted", "--from-beginning", "--max", "1", "--timeout", "5")
    [record] = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert record["error"].startswith("unknown_magic_byte") and record["raw"] == "Z2FyYmFnZQ=="
    assert tailed.returncode == 0
