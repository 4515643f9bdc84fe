"""Two workers share the intake partitions; one is SIGKILLed mid-stream and replaced. No request is lost, and
after de-duplication by event id each ends where a clean, uninterrupted run puts it."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from civicflow.services.bench import workload
from civicflow.services.sdk.consumer import AgencyConsumer
from civicflow.services.sdk.producer import RequestProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.pipeline import index as pipeline_index
from civicflow.streams.pipeline.stages import Pipeline
from tests.streams.pipeline import evidence, helpers

pytestmark = pytest.mark.integration

REQUESTS = 3000
RATE = 300.0  # per second: the stream runs for ~10 s, long enough to kill a worker in the middle of it


def _produce(*, bootstrap: str, topics, records, progress: list) -> None:
    with RequestProducer(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=helpers.CODEC) as producer:
        start = time.monotonic()
        for n, record in enumerate(records):
            time.sleep(max(0.0, start + n / RATE - time.monotonic()))
            producer.send_record(record)
            progress.append(n)


def _kill_a_worker_mid_stream(*, settings, start_worker, broker) -> tuple[dict, list, object, list, dict]:
    """Two workers share the intake partitions; one is SIGKILLed a quarter into a 3,000-request stream and
    replaced. Returns where an uninterrupted run puts each request, the messages read from every output topic
    (with the settings' isolation level) once each request has an outcome, the topics, the workers, and the
    evidence of the kill: its time and the group's committed intake offsets throughout."""
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    records = workload.requests(jurisdiction=jurisdictions["nyc"], count=REQUESTS, seed=3)
    for record in records:
        record["idempotency_key"] = None  # the workload's keys are unique anyway; keep the oracle simple
    expected = helpers.expected_places(jurisdictions, records, topics)
    names = helpers.output_topics(topics, jurisdictions["nyc"].agencies())
    stream_worker.ensure_topics(settings, jurisdictions)

    commits = evidence.CommitWatcher(bootstrap=broker.bootstrap_servers, group=settings.app_id, topic=topics.intake).start()
    doomed = start_worker(settings, "doomed")
    survivor = start_worker(settings, "survivor")  # started at the same instant: each claims a web port of its own
    sent: list[int] = []
    producer = threading.Thread(target=_produce, kwargs=dict(bootstrap=broker.bootstrap_servers, topics=topics,
                                                             records=records, progress=sent))
    producer.start()
    in_flight = len(helpers.read_all(bootstrap=broker.bootstrap_servers, names=names, timeout_s=60, settle_s=0,
                                     until=lambda seen: len(seen) >= REQUESTS // 4))
    doomed.kill()
    killed_at = time.time()
    replacement = start_worker(settings, "replacement")
    producer.join()
    assert 0 < in_flight < REQUESTS, "the worker died mid-stream"
    assert len(sent) == REQUESTS

    messages = helpers.read_all(bootstrap=broker.bootstrap_servers, names=names, timeout_s=180, settle_s=5,
                                until=lambda seen: len({m.key for m in seen}) >= REQUESTS,
                                isolation_level=settings.isolation_level)
    commits.stop()
    return expected, messages, topics, [doomed, survivor, replacement], dict(killed_at=killed_at, commits=commits)


def _describe_losses(expected: dict, events: list, topics, *, broker, workers, kill: dict) -> list[str]:
    """Where each lost request was: its intake partition and offset, who processed that partition before and
    after the kill, the group's committed offsets around it and the workers' lines about the partition."""
    lost = set(expected) - set(helpers.places_by_request(events, topics))
    if not lost:
        return []
    intake = helpers.read_all(bootstrap=broker.bootstrap_servers, names=[topics.intake], timeout_s=60, settle_s=1,
                              until=lambda seen: len(seen) >= REQUESTS)
    return evidence.describe_losses(lost, intake, helpers.decoded(intake),
                                    logs={w.log_path.stem: w.log() for w in workers}, **kill)


def _lost_and_duplicated(expected: dict, events: list, topics) -> tuple[int, int]:
    """Requests with no outcome, and records read more than once (same topic and event id) before de-duplication."""
    places = helpers.places_by_request(events, topics)
    raw = Counter((topic, record["event_id"]) for topic, record in events)
    return len(set(expected) - set(places)), sum(n - 1 for n in raw.values())


def test_a_killed_worker_loses_nothing_and_each_request_is_routed_once(platform_settings, start_worker, broker):
    settings = platform_settings()
    expected, messages, topics, workers, kill = _kill_a_worker_mid_stream(settings=settings,
                                                                          start_worker=start_worker, broker=broker)
    events = helpers.decoded(messages)
    lost, duplicated = _lost_and_duplicated(expected, events, topics)
    print(f"\nfailover at_least_once on {broker.kind}: sent {REQUESTS}, lost {lost}, duplicated {duplicated} "
          f"(records read twice before de-duplication by event id, of {len(events)})")
    print("\n".join(_describe_losses(expected, events, topics, broker=broker, workers=workers, kill=kill)))
    places = helpers.places_by_request(events, topics)
    assert set(places) == set(expected), "no request lost, none invented"
    assert {rid: found for rid, found in places.items() if len(found) != 1} == {}
    assert {rid: found[0] for rid, found in places.items()} == expected

    busiest = Counter(p for p in expected.values() if p.startswith(f"{settings.topic_prefix}work.")).most_common(1)
    topic, count = busiest[0]
    consumer = AgencyConsumer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT,
                              topic=topic,
                              group_id=f"{settings.app_id}-agency", codec=helpers.CODEC)
    try:
        handed = [r["request_id"] for r in consumer.requests(idle_timeout_s=5)]
    finally:
        consumer.close()
    assert len(handed) == count and len(set(handed)) == count, "the agency SDK hands each request over once"


def test_exactly_once_a_killed_worker_loses_nothing_and_writes_nothing_twice(platform_settings, start_worker,
                                                                             broker):
    if broker.kind != "kafka":
        pytest.skip("exactly_once needs Kafka transactions, which the embedded broker does not have: run with "
                    "--broker=kafka")
    settings = platform_settings(processing_guarantee="exactly_once")
    expected, messages, topics, workers, kill = _kill_a_worker_mid_stream(settings=settings,
                                                                          start_worker=start_worker, broker=broker)
    events = helpers.decoded(messages)
    lost, duplicated = _lost_and_duplicated(expected, events, topics)
    print(f"\nfailover exactly_once on {broker.kind} (read_committed): sent {REQUESTS}, lost {lost}, "
          f"duplicated {duplicated} (of {len(events)} records read)")
    twice = evidence.describe_duplicates(messages, events, data_dir=broker.root / "data",
                                         logs={w.log_path.stem: w.log() for w in workers})
    print("\n".join(twice))
    print("\n".join(_describe_losses(expected, events, topics, broker=broker, workers=workers, kill=kill)))
    places = helpers.places_by_request(events, topics)
    assert set(places) == set(expected), "no request lost, none invented"
    assert {rid: set(found) for rid, found in places.items()} == {rid: {place} for rid, place in expected.items()}
    assert duplicated == 0, "records read twice with read_committed (each copy's transaction):\n" + "\n".join(twice)


def _rejections_and_links(events, topics) -> dict[str, str]:
    """Request id → the request its outcome points at: the original of an idempotency key or a duplicate."""
    links = {}
    for topic, record in events:
        if topic == topics.rejected:
            links[record["request_id"]] = f"key of {record['original_request_id']}"
        elif topic == topics.routed and record["enrichment"]["duplicate_of"]:
            links[record["request_id"]] = f"duplicate of {record['enrichment']['duplicate_of']}"
    return links


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_idempotency_keys_and_open_requests_survive_a_killed_worker(platform_settings, start_worker, broker,
                                                                     guarantee):
    if guarantee == "exactly_once" and broker.kind != "kafka":
        pytest.skip("exactly_once needs Kafka transactions, which the embedded broker does not have: run with "
                    "--broker=kafka")
    settings = platform_settings(processing_guarantee=guarantee)
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    names = helpers.output_topics(topics, jurisdictions["nyc"].agencies())
    stream_worker.ensure_topics(settings, jurisdictions)
    originals = workload.requests(jurisdiction=jurisdictions["nyc"], count=300, seed=5)
    for n, record in enumerate(originals):
        record["idempotency_key"] = f"key-{n}"
    resubmitted = [{**r, "request_id": f"again-{n}"} for n, r in enumerate(originals[:150])]
    nearby = [{**r, "request_id": f"nearby-{n}", "idempotency_key": None,
               "submitted_at": r["submitted_at"] + timedelta(minutes=30)}
              for n, r in enumerate(originals[150:])]
    expected = {rid: link for rid, link in _rejections_and_links(
        _in_process(jurisdictions, topics, originals + resubmitted + nearby), topics).items()
        if rid.startswith(("again-", "nearby-"))}
    assert len(expected) >= 250, "most follow-ups point at an original"

    first = start_worker(settings, "first")
    with RequestProducer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=helpers.CODEC) as producer:
        for record in originals:  # one burst: the changelog is written in batches
            producer.send_record(record)
    helpers.read_all(bootstrap=broker.bootstrap_servers, names=[topics.routed], timeout_s=90, settle_s=3,
                     until=lambda seen: len({m.key for m in seen}) >= len(originals),
                     isolation_level=settings.isolation_level)
    first.kill()
    start_worker(settings, "second")
    with RequestProducer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=helpers.CODEC) as producer:
        for record in resubmitted + nearby:
            producer.send_record(record)
    messages = helpers.read_all(bootstrap=broker.bootstrap_servers, names=names, timeout_s=120, settle_s=3,
                                until=lambda seen: len({m.key for m in seen}) >= len(originals) + 300,
                                isolation_level=settings.isolation_level)
    actual = {rid: link for rid, link in _rejections_and_links(helpers.decoded(messages), topics).items()
              if rid.startswith(("again-", "nearby-"))}
    assert actual == expected


def _in_process(jurisdictions, topics, records) -> list[tuple[str, dict]]:
    index = pipeline_index.IntakeIndex({}, idempotency_window_ms=86_400_000)
    pipeline = Pipeline(jurisdictions=jurisdictions, codec=helpers.CODEC, topics=topics, index=index)
    events = []
    for n, record in enumerate(records):
        key = f"{record['jurisdiction_id']}:{record['service_code']}".encode()
        outcome = helpers.run_one(pipeline, key=key, value=helpers.CODEC.encode(contract_schemas.SUBMITTED, record),
                                  source=("intake", 0, n))
        events += [(emit.topic, helpers.CODEC.decode(helpers.CODEC.subject_of(emit.value), emit.value))
                   for emit in outcome.emits if emit.topic in (topics.routed, topics.rejected)]
    return events
