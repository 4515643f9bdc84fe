"""On the real broker: SLA timers fall due while the worker that holds them is dead; a new worker recovers its
state and fires them, and after de-duplication by event id each warning and breach is counted once."""

import shutil
import time
from collections import Counter
from datetime import datetime, timezone

import pytest
import yaml

from civicflow.services.bench import workload
from civicflow.services.sdk.producer import RequestProducer
from civicflow.services.sdk.updates import UpdateProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import REPO_ROOT
from tests.streams.pipeline import helpers

pytestmark = pytest.mark.integration

REQUESTS = 120


def _quick_sla(tmp_path):
    """NYC with every request on one policy of seconds: acknowledge in 30 s, resolve in 40 s."""
    root = tmp_path / "jurisdictions"
    shutil.copytree(REPO_ROOT / "deploy" / "jurisdictions" / "nyc", root / "nyc")
    sla = {"warnings": [0.5, 0.75], "pause_statuses": ["on_hold"],
           "policies": [{"name": "quick", "goals": {"acknowledge": {"target": "PT30S"}, "resolve": {"target": "PT40S"}}}]}
    (root / "nyc" / "sla.yaml").write_text(yaml.safe_dump(sla))
    return root


def _lifecycle(broker, topics, until, timeout_s=120, settle_s=3.0):
    messages = helpers.read_all(bootstrap=broker.bootstrap_servers, names=[topics.lifecycle], until=until,
                                timeout_s=timeout_s, settle_s=settle_s)
    return [helpers.CODEC.decode(contract_schemas.LIFECYCLE, m.value) for m in messages]


def test_timers_due_while_no_worker_owns_them_fire_once_after_recovery(platform_settings, start_worker, broker,
                                                                       tmp_path):
    settings = platform_settings(jurisdictions_dir=_quick_sla(tmp_path), update_grace_s=5.0)
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    stream_worker.ensure_topics(settings, jurisdictions)
    records = workload.requests(jurisdiction=jurisdictions["nyc"], count=REQUESTS, seed=9)
    now = datetime.now(timezone.utc)
    for record in records:
        record["due_at"], record["submitted_at"] = None, now

    first = start_worker(settings, "first")
    with RequestProducer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=helpers.CODEC) as producer:
        for record in records:
            producer.send_record(record)
    opened = _lifecycle(broker, topics, settle_s=0, timeout_s=60,
                        until=lambda seen: len({m.key for m in seen}) >= REQUESTS - 5)
    routed = {e["request_id"]: e["agency"] for e in opened if e["kind"] == "opened"}
    acknowledged = sorted(routed)[: len(routed) // 2]
    with UpdateProducer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                        codec=helpers.CODEC) as updates:
        for request_id in acknowledged:
            updates.send(request_id=request_id, status="acknowledged", agency=routed[request_id])
    # On processing time an acknowledgement that arrives after its deadline is late whatever time it carries:
    # let the first worker apply them all before it dies.
    _lifecycle(broker, topics, settle_s=0, timeout_s=60, until=lambda seen: {
        e["request_id"] for e in map(lambda m: helpers.CODEC.decode(contract_schemas.LIFECYCLE, m.value), seen)
        if e["kind"] == "sla_met" and e["goal"] == "acknowledge"} >= set(acknowledged))
    first.kill()  # holding every resolve timer, and the acknowledge timers of the other half
    time.sleep(max(0.0, 21 - (datetime.now(timezone.utc) - now).total_seconds()))  # 50 % marks pass meanwhile
    start_worker(settings, "second")
    all_routed = None

    def settled(seen):
        decoded = [helpers.CODEC.decode(contract_schemas.LIFECYCLE, m.value) for m in seen]
        nonlocal all_routed
        all_routed = {e["request_id"] for e in decoded if e["kind"] == "opened"}
        breached = {e["request_id"] for e in decoded if e["kind"] == "sla_breached" and e["goal"] == "resolve"}
        return len(all_routed) >= REQUESTS - 5 and breached >= all_routed

    events = _lifecycle(broker, topics, until=settled, timeout_s=120)
    unique = {e["event_id"]: e for e in events}
    sla = Counter((e["request_id"], e["goal"], e["kind"], e["threshold"]) for e in unique.values() if e["goal"])
    assert all_routed and len(all_routed) == len(routed) or len(all_routed) >= len(routed)
    for request_id in all_routed:
        for threshold in (0.5, 0.75):
            assert sla[(request_id, "resolve", "sla_warning", threshold)] == 1
        assert sla[(request_id, "resolve", "sla_breached", 1.0)] == 1
        assert sla[(request_id, "resolve", "escalation", 1.0)] == 1
        ack = "sla_met" if request_id in acknowledged else "sla_breached"
        assert sum(n for (r, g, k, _), n in sla.items() if r == request_id and g == "acknowledge"
                   and k in ("sla_met", "sla_breached")) == 1
        assert sla[(request_id, "acknowledge", ack, None if ack == "sla_met" else 1.0)] == 1
    print(f"lifecycle events before de-duplication: {len(events)}, after: {len(unique)}")

    escalations = helpers.read_all(
        bootstrap=broker.bootstrap_servers, timeout_s=30, settle_s=1,
        names=[topics.escalations(jurisdiction_id="nyc", agency=a) for a in jurisdictions["nyc"].agencies()],
        until=lambda seen: len({m.value for m in seen}) >= len(all_routed))
    keys = {(m.topic, helpers.CODEC.decode(contract_schemas.LIFECYCLE, m.value)["event_id"]) for m in escalations}
    assert len({event_id for _, event_id in keys}) >= len(all_routed) + (len(all_routed) - len(acknowledged))
