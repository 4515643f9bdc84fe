"""A projection stalled past its consumer group's session timeout (SIGSTOP: the whole process, its heartbeats
too, as a starved or swapped-out process is) carries on once it runs again: a record sent after the stall reaches
the read model, and the one applied before is still there once."""

import os
import signal
import time

import pytest
import sqlalchemy as sa
from kafka import KafkaProducer

from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from tests.conftest import wait_until
from tests.services.readmodel import records as r

pytestmark = pytest.mark.integration


def _request_ids(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(sa.text("SELECT request_id FROM requests ORDER BY request_id"))]
    except sa.exc.OperationalError:  # not migrated yet
        return []
    finally:
        engine.dispose()


def test_a_projection_stalled_past_its_session_timeout_carries_on(platform_settings, start_worker, tmp_path):
    url = f"sqlite:///{tmp_path / 'readmodel.sqlite3'}"
    settings = platform_settings(database_url=url, reader_session_timeout_s=6.0)  # the shortest, for a short test
    stream_worker.ensure_topics(settings, jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir))
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers,
                             **kafka_security.from_settings(settings).kafka_python())

    def send(request_id: str) -> None:
        producer.send(topics.routed, key=request_id.encode(),
                      value=r.CODEC.encode(contract_schemas.ROUTED, r.routed(request_id))).get(timeout=10)

    projection = start_worker(settings, "projection", "projection")
    try:
        send("req-before")
        wait_until(lambda: _request_ids(url) == ["req-before"], timeout_s=60, message="the first record applied")
        os.kill(projection.process.pid, signal.SIGSTOP)
        time.sleep(settings.reader_session_timeout_s + 4)
        os.kill(projection.process.pid, signal.SIGCONT)
        send("req-after")
        wait_until(lambda: _request_ids(url) == ["req-after", "req-before"], timeout_s=60,
                   message="the record sent after the stall applied")
        assert "Heartbeat session expired" in projection.log(), "the stall outlasted the session (kafka-python)"
    finally:
        os.kill(projection.process.pid, signal.SIGCONT)
        producer.close()
