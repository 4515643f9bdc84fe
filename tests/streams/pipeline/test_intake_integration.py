"""On the real broker: a mix of valid, invalid, duplicate and undecodable submissions, each accounted for once."""

import shutil
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from civicflow.services.demo import nyc311
from civicflow.services.sdk import requests as sdk_requests
from civicflow.services.sdk.producer import RequestProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import REPO_ROOT
from tests.streams.pipeline import helpers

pytestmark = pytest.mark.integration

TRIAGED_AGENCY = "DOT"  # its routing rules become triage rules below, so its requests must reach triage


def _jurisdictions_without_rule_for(agency: str, tmp_path):
    root = tmp_path / "jurisdictions"
    shutil.copytree(REPO_ROOT / "deploy" / "jurisdictions" / "nyc", root / "nyc")
    path = root / "nyc" / "routing.yaml"
    routing = yaml.safe_load(path.read_text())
    services = yaml.safe_load((root / "nyc" / "services.yaml").read_text())["services"]
    theirs = sorted(s["service_code"] for s in services if s["agency"] == agency)
    routing["rules"] = [{"name": "hand-routed", "when": {"service_code": theirs}, "agency": None}] + [
        r for r in routing["rules"] if r["agency"] != agency]
    path.write_text(yaml.safe_dump(routing, sort_keys=False))
    return root


BREAKERS = {
    "unknown_service_code": lambda r: r.update(service_code="no-such-service"),
    "description_html": lambda r: r.update(description="<p>broken <b>street light</b></p>"),
    "location_outside_jurisdiction": lambda r: r.update(lat=39.9526, long=-75.1652),
    "media_url_invalid": lambda r: r.update(media_url="javascript:alert(1)"),
    "attribute_not_allowed": lambda r: r.setdefault("attributes", {}).update(descriptor="not-a-descriptor"),
    "description_too_long": lambda r: r.update(description="x" * 4001),
}


def _scenario(jurisdiction):
    """(requests to submit, expected place per request id, expected reason codes per request id)."""
    rows = [r for r in nyc311.read_rows() if r["Latitude"]][:400]
    base = datetime(2015, 1, 1, tzinfo=timezone.utc)
    submitted, expected, reasons = [], {}, {}
    for n, row in enumerate(rows):
        # a week apart: no two sample rows are duplicates of each other by time window
        request = nyc311.to_request(row, jurisdiction=jurisdiction, submitted_at=base + timedelta(days=7 * n))
        request.update(request_id=f"valid-{n}", idempotency_key=f"key-{n}")
        submitted.append(request)
        agency = row["Agency"]
        expected[request["request_id"]] = ("triage" if agency == TRIAGED_AGENCY else
                                           f"work.nyc.{agency.lower()}")
    for n, original in enumerate(submitted[:2]):
        duplicate = {**original, "request_id": f"near-duplicate-{n}", "idempotency_key": f"dup-key-{n}",
                     "submitted_at": (datetime.fromisoformat(original["submitted_at"]) + timedelta(hours=1)).isoformat()}
        submitted.append(duplicate)
        expected[duplicate["request_id"]] = "duplicate"
    resubmitted = {**submitted[5], "request_id": "resubmitted-0"}
    submitted.append(resubmitted)
    expected["resubmitted-0"] = "rejected"
    reasons["resubmitted-0"] = {"duplicate_submission"}
    for n in range(60):
        code = sorted(BREAKERS)[n % len(BREAKERS)]
        request = {**submitted[n], "request_id": f"invalid-{n}", "idempotency_key": f"bad-key-{n}",
                   "attributes": dict(submitted[n].get("attributes", {}))}
        BREAKERS[code](request)
        codes = {code}
        if n % 10 == 9:  # several failures at once: every one is reported
            BREAKERS["description_html"](request)
            BREAKERS["media_url_invalid"](request)
            codes |= {"description_html", "media_url_invalid"}
        submitted.append(request)
        expected[request["request_id"]] = "rejected"
        reasons[request["request_id"]] = codes
    return submitted, expected, reasons


def test_every_submission_ends_in_exactly_one_place(platform_settings, start_worker, tmp_path, broker):
    # the submissions are dated from 2015 on, a week apart: a horizon of a century lets live intake take them
    settings = platform_settings(jurisdictions_dir=_jurisdictions_without_rule_for(TRIAGED_AGENCY, tmp_path),
                                 time_horizon_days=36525)
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    jurisdiction = jurisdictions["nyc"]
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    # every output topic exists before the read below lists their partitions: one the worker had not created yet
    # would be left out of the read, and the count of records could be reached without it
    stream_worker.ensure_topics(settings, jurisdictions)
    submitted, expected, reasons = _scenario(jurisdiction)
    raw = [b"\x00\x00\x00\x00\x01garbage-%d" % n for n in range(20)] + [b"{\"json\": %d}" % n for n in range(10)] + [
        b"\x00\x00\x00\x27\x10" + b"unknown schema %d" % n for n in range(10)]

    worker = start_worker(settings)
    with RequestProducer(bootstrap_servers=broker.bootstrap_servers, security=kafka_security.PLAINTEXT, topics=topics,
                         codec=helpers.CODEC) as producer:
        for request in submitted:
            producer.send_record(sdk_requests.to_record(request)).get()
        for value in raw:
            producer.send_raw(key=b"raw", value=value)

    total = len(submitted) + len(raw)
    assert total >= 500
    names = [f"{settings.topic_prefix}{t}" for t in ()] + helpers.output_topics(topics, jurisdiction.agencies())
    messages = helpers.read_all(bootstrap=broker.bootstrap_servers, names=names, timeout_s=180,
                                until=lambda seen: len(seen) >= total)
    events = helpers.decoded(messages)
    places = helpers.places_by_request(events, topics)

    prefixed = {rid: (p if p in ("triage", "duplicate", "rejected") else settings.topic_prefix + p)
                for rid, p in expected.items()}
    named = {topics.triage: "triage", topics.rejected: "rejected"}
    actual = {rid: [named.get(p, p) for p in found] for rid, found in places.items()}
    assert {rid: found for rid, found in actual.items() if len(found) != 1} == {}, "each request in one place"
    assert {rid: found[0] for rid, found in actual.items()} == prefixed

    rejected = {r["request_id"]: r for t, r in events if t == topics.rejected}
    for request_id, codes in reasons.items():
        assert {reason["code"] for reason in rejected[request_id]["reasons"]} == codes, request_id
    assert rejected["resubmitted-0"]["original_request_id"] == "valid-5"

    dead = {(r["event_id"]): r for t, r in events if t == topics.dead_letter}
    assert sorted(r["value"] for r in dead.values()) == sorted(raw), "raw bytes kept, each once"
    assert {r["reason_code"] for r in dead.values()} == {"malformed_avro", "unknown_magic_byte", "unknown_schema_id"}

    routed = {r["request_id"]: r for t, r in events if t == topics.routed}
    assert routed["near-duplicate-0"]["enrichment"]["duplicate_of"] == "valid-0"
    work = [r for t, r in events if t.startswith(f"{settings.topic_prefix}work.")]
    assert work and all(r["contact"] is None for r in work), "no contact details on agency topics"
    assert all(r["routing"]["rule"] for r in work)
    located = [r for r in work if r["request"]["lat"] is not None]
    assert all(r["enrichment"]["districts"].get("borough") for r in located)

    counted = worker.metrics()
    stage = lambda name: (("stage", name),)  # noqa: E731
    assert counted[("civicflow_stage_events_in_total", stage("validate"))] == total
    outcomes = {"routed": sum(1 for p in prefixed.values() if p.startswith(settings.topic_prefix)),
                "triage": sum(1 for p in prefixed.values() if p == "triage"),
                "duplicate": sum(1 for p in prefixed.values() if p == "duplicate")}
    assert outcomes["triage"] >= 5, "the scenario sends some requests to triage"
    for outcome, count in outcomes.items():
        assert counted[("civicflow_stage_events_out_total", (("outcome", outcome), ("stage", "route")))] == count
    rejected = sum(1 for p in expected.values() if p == "rejected")
    assert counted[("civicflow_stage_events_out_total", (("outcome", "rejected"), ("stage", "validate")))] == rejected
    assert sum(v for (name, labels), v in counted.items()
               if name == "civicflow_stage_events_dead_lettered_total" and ("stage", "validate") in labels) == 40
    assert counted[("civicflow_stage_last_processed_timestamp_seconds", stage("route"))] > 0
    assert counted[("civicflow_stage_duration_seconds_count", stage("enrich"))] == sum(outcomes.values())
