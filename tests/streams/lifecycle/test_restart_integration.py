"""On the real broker, the lifecycle table on local RocksDB databases: a worker SIGKILLed and restarted reads only
the changelog written since (not the whole changelog) and fires the timers due meanwhile; partitions failing over
to a worker with a standby replica keep their state (acknowledged requests are not breached) and are recovered
from the standby's copy, not from the changelog."""

import json
import time
from collections import Counter
from datetime import datetime, timezone

import pytest
from kafka import KafkaProducer

from civicflow.services.bench import timers as bench_timers
from civicflow.services.bench import workload
from civicflow.services.sdk.producer import RequestProducer
from civicflow.services.sdk.updates import UpdateProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import offsets as kafka_offsets
from civicflow.streams.kafka import security as kafka_security
from tests.conftest import wait_until
from tests.streams.lifecycle.test_lifecycle_integration import _lifecycle, _quick_sla
from tests.streams.pipeline import helpers

pytestmark = pytest.mark.integration

REQUESTS = 80


def _rebuilds(worker) -> list[dict]:
    """The worker's timers_rebuilt log events, oldest first."""
    return [json.loads(line) for line in worker.log().splitlines() if '"timers_rebuilt"' in line]


def _platform(platform_settings, tmp_path, *, standby_replicas: int):
    settings = platform_settings(jurisdictions_dir=_quick_sla(tmp_path), table_store="rocksdb",
                                 table_standby_replicas=standby_replicas)
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    stream_worker.ensure_topics(settings, jurisdictions)
    return settings, jurisdictions, contract_topics.Topics(prefix=settings.topic_prefix)


def _submit(broker, topics, jurisdictions, *, seed: int) -> datetime:
    records = workload.requests(jurisdiction=jurisdictions["nyc"], count=REQUESTS, seed=seed)
    now = datetime.now(timezone.utc)
    for record in records:
        record["due_at"], record["submitted_at"] = None, now
    with RequestProducer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=helpers.CODEC) as producer:
        for record in records:
            producer.send_record(record)
    return now


def _opened(broker, topics) -> dict[str, str]:
    events = _lifecycle(broker, topics, settle_s=0, timeout_s=90,
                        until=lambda seen: len({m.key for m in seen}) >= REQUESTS - 5)
    return {e["request_id"]: e["agency"] for e in events if e["kind"] == "opened"}


def _sla_counts(events) -> Counter:
    unique = {e["event_id"]: e for e in events}
    return Counter((e["request_id"], e["goal"], e["kind"], e["threshold"]) for e in unique.values() if e["goal"])


def _changelog_end(settings, topics) -> int:
    name = topics.changelog(app_id=settings.app_id, table="lifecycle_state")
    return sum(kafka_offsets.end_offsets(bootstrap_servers=settings.bootstrap_servers,
                                         security=kafka_security.PLAINTEXT, topics=[name]).values())


def test_a_restarted_worker_reads_only_the_changelog_tail_and_fires_the_timers_due_meanwhile(
        platform_settings, start_worker, broker, tmp_path):
    settings, jurisdictions, topics = _platform(platform_settings, tmp_path, standby_replicas=0)
    first = start_worker(settings, "first")
    submitted = _submit(broker, topics, jurisdictions, seed=21)
    routed = _opened(broker, topics)
    wait_until(lambda: _changelog_end(settings, topics) >= len(routed), timeout_s=30, message="states written")
    time.sleep(2)  # the last changelog acknowledgements reach the local databases
    first.kill()
    written = _changelog_end(settings, topics)

    # Written while the worker is down (as another worker owning the partition for a while would): the tail.
    due_ms = int(time.time() * 1000) + 3_000
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    producer.send(topics.changelog(app_id=settings.app_id, table="lifecycle_state"), key=b'"tail-1"', partition=1,
                  value=json.dumps(bench_timers.open_state(n=1, partition=1, now_ms=due_ms - 60_000, due_ms=due_ms,
                                                           policy="quick")).encode())
    producer.flush()
    producer.close()
    time.sleep(max(0.0, 12 - (datetime.now(timezone.utc) - submitted).total_seconds()))  # 50 % marks at 15 s
    restarted = start_worker(settings, "restarted")

    def settled(seen):
        decoded = [helpers.CODEC.decode(contract_schemas.LIFECYCLE, m.value) for m in seen]
        breached = {e["request_id"] for e in decoded if e["kind"] == "sla_breached" and e["goal"] == "resolve"}
        tail = any(e["request_id"] == "tail-1" and e["kind"].startswith("sla_") for e in decoded)
        return tail and breached >= set(routed)

    events = _lifecycle(broker, topics, until=settled, timeout_s=120)
    sla = _sla_counts(events)
    for request_id in routed:
        for threshold in (0.5, 0.75):
            assert sla[(request_id, "resolve", "sla_warning", threshold)] == 1
        assert sla[(request_id, "resolve", "sla_breached", 1.0)] == 1
    assert any(key[0] == "tail-1" for key in sla), "a state found only in the changelog's tail is used"
    rebuilt = _rebuilds(restarted)[0]
    print(f"changelog records before the restart: {written + 1}; read by the restarted worker: "
          f"{rebuilt['changelog_records_read']}; timers rebuilt: {rebuilt['timers']}")
    assert rebuilt["changelog_records_read"] == 1, "only the record written after its last write"
    assert written >= len(routed) and rebuilt["timers"] >= len(routed)


def test_partitions_failing_over_to_a_standby_keep_their_state_without_reading_the_changelog_again(
        platform_settings, start_worker, broker, tmp_path):
    settings, jurisdictions, topics = _platform(platform_settings, tmp_path, standby_replicas=1)
    first = start_worker(settings, "first")
    second = start_worker(settings, "second")
    wait_until(lambda: _rebuilds(first) and _rebuilds(second) and len(
        set(_rebuilds(first)[-1]["partitions"]) | set(_rebuilds(second)[-1]["partitions"])) == settings.partitions
        and not set(_rebuilds(first)[-1]["partitions"]) & set(_rebuilds(second)[-1]["partitions"]),
        timeout_s=90, message="both workers own partitions")
    submitted = _submit(broker, topics, jurisdictions, seed=22)
    routed = _opened(broker, topics)
    acknowledged = sorted(routed)[: len(routed) // 2]
    with UpdateProducer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                        codec=helpers.CODEC) as updates:
        for request_id in acknowledged:
            updates.send(request_id=request_id, status="acknowledged", agency=routed[request_id])
    _lifecycle(broker, topics, settle_s=0, timeout_s=60, until=lambda seen: {
        e["request_id"] for e in map(lambda m: helpers.CODEC.decode(contract_schemas.LIFECYCLE, m.value), seen)
        if e["kind"] == "sla_met" and e["goal"] == "acknowledge"} >= set(acknowledged))
    moved = set(_rebuilds(first)[-1]["partitions"])
    time.sleep(3)  # the standby replica reads the first worker's last writes
    first.kill()
    rebuilds_before = len(_rebuilds(second))

    def settled(seen):
        decoded = [helpers.CODEC.decode(contract_schemas.LIFECYCLE, m.value) for m in seen]
        breached = {e["request_id"] for e in decoded if e["kind"] == "sla_breached" and e["goal"] == "resolve"}
        return breached >= set(routed)

    events = _lifecycle(broker, topics, until=settled, timeout_s=150)
    sla = _sla_counts(events)
    for request_id in routed:
        assert sla[(request_id, "resolve", "sla_breached", 1.0)] == 1
        ack = "sla_met" if request_id in acknowledged else "sla_breached"
        assert sum(n for (r, g, k, _), n in sla.items() if r == request_id and g == "acknowledge"
                   and k in ("sla_met", "sla_breached")) == 1, "an acknowledgement survives the failover"
        assert sla[(request_id, "acknowledge", ack, None if ack == "sla_met" else 1.0)] == 1
    failover = next(r for r in _rebuilds(second)[rebuilds_before:] if set(r["partitions"]) >= moved)
    standby_read = sum(r["standby_records_read"] for r in _rebuilds(second))
    print(f"failover after {(datetime.now(timezone.utc) - submitted).total_seconds():.0f} s: partitions "
          f"{sorted(moved)} moved; the standby had read {standby_read} changelog records, recovery then read "
          f"{failover['changelog_records_read']}; timers rebuilt: {failover['timers']}")
    assert standby_read >= len(routed) // 4, "the second worker kept a copy of the first one's partitions"
    assert failover["changelog_records_read"] < len(routed) // 4, "the standby's copy, not the changelog again"
