"""On the real broker: an agency transfers a request, and the worker sends the request, as it was routed and
without contact details, to the new agency's work topic, from its lifecycle state alone (no read of the routed
topic), also after a restart recovered that state from the changelog."""

from datetime import datetime, timezone

import pytest

from civicflow.services.bench import workload
from civicflow.services.sdk.producer import RequestProducer
from civicflow.services.sdk.updates import UpdateProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from tests.streams.pipeline import helpers

pytestmark = pytest.mark.integration


def _routed(broker, topics, count, timeout_s=90) -> dict[str, dict]:
    messages = helpers.read_all(bootstrap=broker.bootstrap_servers, names=[topics.routed], settle_s=0,
                                timeout_s=timeout_s, until=lambda seen: len({m.key for m in seen}) >= count)
    records = (helpers.CODEC.decode(contract_schemas.ROUTED, m.value) for m in messages)
    return {r["request_id"]: r for r in records if r["routing"]["outcome"] == "routed"}


def _work(broker, topic, request_ids, timeout_s=90) -> dict[str, dict]:
    wanted = {r.encode() for r in request_ids}
    messages = helpers.read_all(bootstrap=broker.bootstrap_servers, names=[topic], settle_s=1, timeout_s=timeout_s,
                                until=lambda seen: wanted <= {m.key for m in seen})
    records = (helpers.CODEC.decode(contract_schemas.ROUTED, m.value) for m in messages)
    return {r["request_id"]: r for r in records if r["routing"]["rule"] == "transfer"}


def _opened(broker, topics, request_ids, timeout_s=90) -> None:
    wanted = set(request_ids)

    def seen_all(seen):
        decoded = (helpers.CODEC.decode(contract_schemas.LIFECYCLE, m.value) for m in seen)
        return wanted <= {e["request_id"] for e in decoded if e["kind"] == "opened"}

    helpers.read_all(bootstrap=broker.bootstrap_servers, names=[topics.lifecycle], until=seen_all, settle_s=0,
                     timeout_s=timeout_s)


def test_a_transferred_request_reaches_the_new_agency_as_it_was_routed(platform_settings, start_worker, broker):
    settings = platform_settings()
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    stream_worker.ensure_topics(settings, jurisdictions)
    records = workload.requests(jurisdiction=jurisdictions["nyc"], count=6, seed=5)
    now = datetime.now(timezone.utc)
    for record in records:
        record.update(submitted_at=now, due_at=None, email="ana@example.org", first_name="Ana")

    first = start_worker(settings, "first")
    with RequestProducer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=helpers.CODEC) as producer:
        for record in records:
            producer.send_record(record)
    routed = _routed(broker, topics, len(records))
    to = {request_id: ("DOT" if r["routing"]["agency"] != "DOT" else "DSNY") for request_id, r in routed.items()}
    _opened(broker, topics, routed)
    before, after = sorted(routed)[:2], sorted(routed)[2:]

    def transfer(request_ids):
        with UpdateProducer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT,
                            topics=topics, codec=helpers.CODEC) as updates:
            for request_id in request_ids:
                updates.send(request_id=request_id, status="transferred",
                             agency=routed[request_id]["routing"]["agency"], to_agency=to[request_id])

    transfer(before)
    for agency in {to[r] for r in before}:
        work = _work(broker, topics.work(jurisdiction_id="nyc", agency=agency), [r for r in before if to[r] == agency])
        _check(work, routed, agency)
    first.kill()  # the rest are transferred by a worker that recovered their states from the changelog
    start_worker(settings, "second")
    transfer(after)
    for agency in {to[r] for r in after}:
        work = _work(broker, topics.work(jurisdiction_id="nyc", agency=agency),
                     [r for r in after if to[r] == agency], timeout_s=120)
        _check(work, routed, agency)


def _check(work: dict[str, dict], routed: dict[str, dict], agency: str) -> None:
    assert work, f"no transferred work on {agency}'s topic"
    for request_id, order in work.items():
        original = routed[request_id]
        assert order["request"] == original["request"] and order["enrichment"] == original["enrichment"]
        assert original["contact"] is not None and order["contact"] is None
        assert order["routing"]["agency"] == agency and order["routing"]["rule"] == "transfer"
