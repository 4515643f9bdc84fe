"""Three Apache Kafka nodes, the platform's topics replicated 3 times with min.insync.replicas=2 and every producer
on acks=all. A broker that leads intake partitions is SIGKILLed, then another is SIGSTOPped for 30 s, while 5,000
requests flow through a real worker that is never restarted: no acknowledged request is lost, and after
de-duplication by event id each ends in exactly one place (an agency, triage, duplicate or rejected; the
undecodable messages in the dead-letter topic with their raw bytes), where an uninterrupted run puts it.

Selected only by `-m cluster --broker=kafka` (tests/conftest.py); each test prints its counts."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from civicflow.services.bench import workload
from civicflow.services.sdk.exceptions import DeliveryError
from civicflow.services.sdk.producer import RequestProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from tests.conftest import wait_until
from tests.streams.pipeline import helpers

pytestmark = pytest.mark.cluster

REQUESTS = 5000
RATE = 200.0  # per second: the stream runs for ~25 s; the fault falls once a quarter is sent
REFUSED_EVERY = 50  # one request in 50 is dated ahead of the clock: rejected with reasons
POISON = 25  # undecodable messages among the requests: dead-lettered with their raw bytes
PAUSE_S = 30.0
STARTED_WITH_DEAD = 300  # requests routed by a worker that started while a broker was dead


def _workload(jurisdictions, *, seed: int) -> list[dict]:
    records = workload.requests(jurisdiction=jurisdictions["nyc"], count=REQUESTS, seed=seed)
    for n, record in enumerate(records):
        record["idempotency_key"] = None  # the workload's keys are unique anyway; keep the oracle simple
        if n % REFUSED_EVERY == REFUSED_EVERY - 1:
            record["submitted_at"] = record["submitted_at"] + timedelta(days=2)
    return records


def _send(*, bootstrap: str, topics, records, failed: list) -> None:
    """Send every record with the frontend SDK and wait for its acknowledgement: `failed` gets the ids refused."""
    with RequestProducer(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=helpers.CODEC) as producer:
        pending = [producer.send_record(record) for record in records]
        for sent in pending:
            try:
                sent.get(timeout=180)
            except DeliveryError:
                failed.append(sent.request_id)


def _produce(*, bootstrap: str, topics, records, progress: list, failed: list) -> None:
    """Send at RATE with the frontend SDK (acks=all, idempotent), poison interleaved; then wait for every
    acknowledgement: `failed` gets the ids the cluster did not acknowledge."""
    poison_every = len(records) // POISON
    with RequestProducer(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=helpers.CODEC) as producer:
        pending = []
        start = time.monotonic()
        for n, record in enumerate(records):
            time.sleep(max(0.0, start + n / RATE - time.monotonic()))
            pending.append(producer.send_record(record))
            if n % poison_every == 0 and n // poison_every < POISON:
                producer.send_raw(key=b"poison", value=f"poison-{n // poison_every}".encode())
            progress.append(n)
        for sent in pending:
            try:
                sent.get(timeout=180)
            except DeliveryError:
                failed.append(sent.request_id)


def _assert_replicated(cluster, created: list[str], *, expected) -> None:
    """Every topic of the platform (55 for NYC, changelogs included) was created by it with 3 replicas and
    min.insync.replicas=2, from its settings."""
    names = [spec.name for spec in expected]
    assert sorted(created) == sorted(names)
    for name in names:
        assert all(len(p["replicas"]) == 3 for p in cluster.partitions(name).values()), name
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name, {"min.insync.replicas"})
                                            for name in names])
    finally:
        admin.close()
    assert {name: config["min.insync.replicas"]["value"] for name, config in described["topic"].items()} == {
        name: "2" for name in names}


def _run_under_fault(*, cluster, settings, start_worker, fault, seed: int) -> dict:
    """Stream the workload through one worker, apply `fault(cluster, intake topic)` once a quarter is sent, and
    account for every request. Returns the counts."""
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    records = _workload(jurisdictions, seed=seed)
    expected = helpers.expected_places(jurisdictions, records, topics)
    created = stream_worker.ensure_topics(settings, jurisdictions)
    _assert_replicated(cluster, created, expected=stream_worker.all_topic_specs(settings, jurisdictions))
    worker = start_worker(settings, "worker")
    # the fault hits a worker at work: one that starts while a broker is down is another case (see the docs)
    wait_until(lambda: "intake_index_rebuilt" in worker.log(), timeout_s=180, interval_s=0.5,
               message="the worker assigned its partitions")

    started = time.monotonic()
    progress: list[int] = []
    failed: list[str] = []
    producer = threading.Thread(target=_produce, kwargs=dict(bootstrap=cluster.bootstrap_servers, topics=topics,
                                                             records=records, progress=progress, failed=failed))
    producer.start()
    wait_until(lambda: len(progress) >= REQUESTS // 4, timeout_s=120, message="a quarter of the requests sent")
    names = helpers.output_topics(topics, jurisdictions["nyc"].agencies())
    helpers.read_all(bootstrap=cluster.bootstrap_servers, names=names, timeout_s=120, settle_s=0,
                     until=lambda seen: len(seen) > 0)  # and routing them
    fault_at = len(progress)
    fault_s = fault(cluster, topics.intake)
    producer.join()
    assert not failed, f"{len(failed)} requests not acknowledged by the cluster"
    assert 0 < fault_at < REQUESTS, "the fault fell mid-stream"

    messages = helpers.read_all(
        bootstrap=cluster.bootstrap_servers, names=names, timeout_s=240, settle_s=5,
        until=lambda seen: len({m.key for m in seen if m.topic != topics.dead_letter}) >= REQUESTS
        and len({m.value for m in seen if m.topic == topics.dead_letter}) >= POISON)
    elapsed_s = time.monotonic() - started
    assert worker.process.poll() is None, "the worker rode out the fault without a restart"

    events = helpers.decoded(messages)
    places = helpers.places_by_request(events, topics)
    lost = set(expected) - set(places)
    raw = Counter((topic, record["event_id"]) for topic, record in events)
    redelivered = {key: n - 1 for key, n in raw.items() if n > 1}
    by_event = {(topic, record["event_id"]): record for topic, record in events}
    duplicated = {by_event[key].get("request_id") for key in redelivered} - {None}
    dead = [record for (topic, _), record in helpers.by_event_id(events).items() if topic == topics.dead_letter]
    counts = dict(sent=REQUESTS, acknowledged=REQUESTS - len(failed), lost=len(lost), duplicated=len(duplicated),
                  redelivered_events=sum(redelivered.values()), fault_after=fault_at, fault_s=round(fault_s, 1),
                  rejected=sum(1 for p in expected.values() if p == topics.rejected), dead_lettered=len(dead),
                  run_s=round(elapsed_s, 1))
    print(f"\n{settings.topic_prefix} counts: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    if lost:  # which requests, at which place of the stream: what a diagnosis starts from
        positions = {record["request_id"]: n for n, record in enumerate(records)}
        print("lost (request id, position sent): " + ", ".join(f"{rid} {positions[rid]}" for rid in sorted(lost)))

    assert lost == set(), f"{len(lost)} acknowledged requests lost"
    assert set(places) == set(expected), "none invented"
    assert {rid: found for rid, found in places.items() if len(found) != 1} == {}, "each request in one place"
    assert {rid: found[0] for rid, found in places.items()} == expected, "where an uninterrupted run puts it"
    assert counts["rejected"] == REQUESTS // REFUSED_EVERY
    assert sorted(r["value"] for r in dead) == sorted(f"poison-{n}".encode() for n in range(POISON)), \
        "each undecodable message dead-lettered once, raw bytes kept"
    return counts


def test_a_killed_partition_leader_loses_no_request(kafka_cluster, cluster_settings, start_worker):
    settings = cluster_settings()
    killed = []

    def fault(cluster, intake):
        """SIGKILL the node leading intake partition 0; the seconds until another node leads it."""
        node = cluster.leader(intake, 0)
        killed.append(node)
        started = time.monotonic()
        node.kill()
        wait_until(lambda: cluster.leader(intake, 0).node_id != node.node_id, timeout_s=60, interval_s=0.5,
                   message="a new leader of intake partition 0")
        return time.monotonic() - started

    try:
        counts = _run_under_fault(cluster=kafka_cluster, settings=settings, start_worker=start_worker, fault=fault,
                                  seed=11)
    finally:
        restarted = time.monotonic()
        for node in killed:
            if not node.running:
                node.restart()
    assert counts["lost"] == 0
    kafka_cluster.wait_in_sync(contract_topics.Topics(prefix=settings.topic_prefix).intake, timeout_s=120)
    print(f"killed node {killed[0].node_id} restarted and in sync again in {time.monotonic() - restarted:.1f} s")


def test_a_broker_paused_for_30_s_loses_no_request(kafka_cluster, cluster_settings, start_worker):
    settings = cluster_settings()
    paused = []

    def fault(cluster, intake):
        node = cluster.leader(intake, 0)
        paused.append(node)
        started = time.monotonic()
        node.pause()
        time.sleep(PAUSE_S)
        node.resume()
        return time.monotonic() - started

    try:
        counts = _run_under_fault(cluster=kafka_cluster, settings=settings, start_worker=start_worker, fault=fault,
                                  seed=13)
    finally:
        for node in paused:
            if node.paused:
                node.resume()
    assert counts["lost"] == 0
    resumed = time.monotonic()
    kafka_cluster.wait_in_sync(contract_topics.Topics(prefix=settings.topic_prefix).intake, timeout_s=120)
    print(f"paused node {paused[0].node_id} in sync again {time.monotonic() - resumed:.1f} s after the accounting")


def test_a_worker_starts_while_a_broker_is_dead(kafka_cluster, cluster_settings, start_worker):
    """The first node of the bootstrap list is SIGKILLed before the worker starts: the worker creates its topics,
    joins and routes on the two nodes left, without a restart."""
    settings = cluster_settings()
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    records = workload.requests(jurisdiction=jurisdictions["nyc"], count=STARTED_WITH_DEAD, seed=17)
    for record in records:
        record["idempotency_key"] = None
    expected = helpers.expected_places(jurisdictions, records, topics)
    dead = kafka_cluster.node(1)
    dead.kill()
    try:
        worker = start_worker(settings, "worker")
        wait_until(lambda: "intake_index_rebuilt" in worker.log() or worker.process.poll() is not None,
                   timeout_s=180, interval_s=0.5, message="the worker assigned its partitions")
        assert worker.process.poll() is None, "the worker started with a dead broker in its bootstrap list"
        failed: list[str] = []
        _send(bootstrap=kafka_cluster.bootstrap_servers, topics=topics, records=records, failed=failed)
        assert not failed, f"{len(failed)} requests not acknowledged by the two live nodes"
        names = helpers.output_topics(topics, jurisdictions["nyc"].agencies())
        messages = helpers.read_all(bootstrap=kafka_cluster.bootstrap_servers, names=names, timeout_s=120, settle_s=2,
                                    until=lambda seen: len({m.key for m in seen}) >= len(records))
        places = helpers.places_by_request(helpers.decoded(messages), topics)
        assert {rid: found[0] for rid, found in places.items()} == expected
        assert worker.process.poll() is None, "the worker never restarted"
    finally:
        if not dead.running:
            dead.restart()
