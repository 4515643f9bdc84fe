"""Fuzzing through the real API and the real intake: hypothesis draws submissions and agency updates covering every
field's extremes (coordinates at and past their ranges, NaN, infinities, other scripts' digits, markup and
control characters in every text field, lengths at and past their limits, times from 1900 to 2999, unknown
codes, keys of other clients and agencies), posts them to the Open311 API, which hands what it accepts to a real
worker on the real broker, with the projection keeping the read model.

No answer is a 5xx; a 400/403/404 sends nothing (but for an update the API handed on and the lifecycle refused
before the API answered: the read model must then hold that refusal); and every request and update the API handed on
is accounted for: each request gets exactly one intake decision (routed, triaged, linked as a duplicate, or
rejected) and shows in the read model in valid JSON and XML, each update exactly one lifecycle decision (accepted or
refused).
The Reliability section of docs/testing-and-reliability.md gives the counts (SUBMISSIONS, UPDATES)."""

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicflow.services.api import progress as api_progress
from civicflow.services.api import updates as api_updates
from civicflow.services.api.service import create_app
from civicflow.services.readmodel import db
from civicflow.services.sdk import consumer as sdk_consumer
from civicflow.services.sdk.producer import RequestProducer
from civicflow.services.sdk.updates import UpdateProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from tests.conftest import wait_until

pytestmark = pytest.mark.integration

SUBMISSIONS = 300
UPDATES = 200
BASE = "/open311/v2"
CODEC = contract_codec.from_url(None)

TEXT = st.text(max_size=60)  # any code point: controls, NUL, surrogates are refused or kept as they must be
NUMBERS = st.sampled_from(["90", "-90", "180", "-180", "90.0000001", "-180.5", "0", "-0", "nan", "NaN", "inf",
                           "-Infinity", "1e999", "\uff14\uff10.\uff17", "40.7.1", "", " ", "0x10", "1_0", "4e1"])
PLACES = st.sampled_from([("40.7580", "-73.9855"), ("40.6608", "-73.9986"), (" 40.7128 ", "-74.0060"),
                          ("40.758", "-73.9855"), ("39.9526", "-75.1652")])
SERVICES = {"noise-residential": ("descriptor", ["loud-music-party", "banging-pounding", "opera"]),
            "street-sign-missing": ("descriptor", ["stop", "school-crossing"]),
            "consumer-complaint": ("descriptor", ["billing-dispute"]),
            "dof-parking-payment-issue": ("descriptor", ["marshal-not-reflected"])}
EDGE_TEXT = st.one_of(TEXT, st.sampled_from([
    "<script>alert(1)</script>", "5 < 6 Av & W 4 St", "x" * 1000, "x" * 1001, "x" * 4000, "x" * 4001, "a\x00b",
    "\x1b[31m", "Zoë Núñez", "😀" * 10, "<!-- c -->", "&lt;b&gt;"]))


PLAIN = st.text(alphabet=st.characters(whitelist_categories=("L", "N", "Zs", "Pd", "Po")), max_size=80)
FIELDS = {"description": EDGE_TEXT, "address_id": EDGE_TEXT, "email": EDGE_TEXT, "phone": EDGE_TEXT,
          "first_name": EDGE_TEXT, "last_name": EDGE_TEXT, "device_id": EDGE_TEXT, "account_id": EDGE_TEXT,
          "address_string": EDGE_TEXT,
          "media_url": st.sampled_from(["https://example.org/a.jpg", "javascript:alert(1)", "ftp://x/y"]) | TEXT,
          "language": st.sampled_from(["es", "en-US", "zh-Hant-TW", "english"]) | TEXT,
          "idempotency_key": st.sampled_from(["fuzz-1", "fuzz-2"]) | TEXT,
          "jurisdiction_id": st.sampled_from(["nyc", "atlantis"]), "colour": TEXT,
          "lat": NUMBERS, "long": NUMBERS, "service_code": st.sampled_from(["no-such-service", "", "<b>x</b>"]),
          "attribute[descriptor]": TEXT}


@st.composite
def submission_forms(draw) -> dict:
    """Half the time a valid request with one field (or none) pushed to an extreme, else anything goes."""
    service = draw(st.sampled_from(list(SERVICES)))
    code, values = SERVICES[service]
    form = {"api_key": draw(st.sampled_from(["demo-web-key", "demo-mobile-key", "demo-callcentre-key"])),
            "service_code": service, f"attribute[{code}]": values[0]}
    form["lat"], form["long"] = draw(PLACES)
    for name in ("description", "first_name", "email"):
        if draw(st.booleans()):
            form[name] = draw(PLAIN)
    if draw(st.booleans()):
        extremes = draw(st.integers(1, 1 if draw(st.booleans()) else 6))
        for name in draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=extremes, max_size=extremes)):
            form[name] = draw(FIELDS[name])
        if draw(st.integers(0, 9)) == 0:
            form["api_key"] = draw(st.sampled_from(["not-a-key", "demo-dot-agency-key", ""]))
        if draw(st.integers(0, 4)) == 0:
            form.pop(draw(st.sampled_from(["lat", "long", f"attribute[{code}]", "service_code"])), None)
    return form


def update_forms(known: list[tuple[str, str]]):
    """Updates about the routed requests (id, owner) and about ids no one submitted."""
    now = datetime.now(timezone.utc)
    times = st.one_of(st.none(), st.integers(0, 7200).map(lambda s: (now - timedelta(seconds=s)).isoformat()),
                      st.sampled_from(["1900-01-01", "2999-01-01T00:00:00Z", (now + timedelta(minutes=10)).isoformat(),
                                       (now - timedelta(days=2)).isoformat(), "tomorrow", "0001-01-01", ""]))

    @st.composite
    def forms(draw) -> dict:
        """Half the time the owner's plausible update with one field (or none) pushed to an extreme."""
        request_id, owner = draw(st.sampled_from(known))
        keys = {"DOT": "demo-dot-agency-key", "NYPD": "demo-nypd-agency-key"}
        form = {"api_key": keys.get(owner, "demo-dot-agency-key"), "service_request_id": request_id,
                "status": draw(st.sampled_from(["acknowledged", "in_progress", "resolved", "closed", "FIXED",
                                                "INVESTIGATING"]))}
        if draw(st.booleans()):
            form["description"] = draw(PLAIN)
        if draw(st.booleans()):
            extremes = {"updated_datetime": times, "description": EDGE_TEXT, "update_id": TEXT,
                        "to_agency": st.sampled_from(["DOT", "NYPD", "DSNY", "NOPE"]),
                        "duplicate_of": st.sampled_from([k[0] for k in known]) | TEXT, "first_name": EDGE_TEXT,
                        "status": st.sampled_from(["on_hold", "reopened", "transferred", "duplicate", "OPEN",
                                                   "done"]) | TEXT,
                        "service_request_id": st.sampled_from(["no-such-request"]) | TEXT,
                        "api_key": st.sampled_from(list(keys.values()) + ["demo-web-key", "nope"]),
                        "agency": st.sampled_from(["DOT", "NYPD"]), "colour": TEXT}
            for name in draw(st.lists(st.sampled_from(sorted(extremes)), min_size=1, max_size=3)):
                form[name] = draw(extremes[name])
        return form

    return forms()


def _decisions(bootstrap: str, topics) -> tuple[dict[str, set], dict[str, set]]:
    """(request id → intake decisions' event ids, update id → lifecycle decisions' event ids)."""
    requests, updates = defaultdict(set), defaultdict(set)
    names = [topics.routed, topics.rejected, topics.lifecycle]
    for message in sdk_consumer.read_until(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT,
                                           topics=names, until=lambda seen: True,
                                           timeout_s=20, settle_s=1.0):
        subject = {topics.routed: contract_schemas.ROUTED, topics.rejected: contract_schemas.REJECTED,
                   topics.lifecycle: contract_schemas.LIFECYCLE}[message.topic]
        record = CODEC.decode(subject, message.value)
        update = record.get("update")
        if message.topic == topics.lifecycle:
            if record["kind"] == "transition":
                updates[update["update_id"]].add(record["event_id"])
        elif update is not None:
            updates[update["update_id"]].add(record["event_id"])
        else:
            requests[record["request_id"]].add(record["event_id"])
    return requests, updates


def test_fuzzed_submissions_and_updates_through_the_real_api_and_intake(platform_settings, start_worker, tmp_path):
    settings = platform_settings(database_url=f"sqlite:///{tmp_path / 'readmodel.sqlite3'}", update_grace_s=3.0,
                                 notifications=False)
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    stream_worker.ensure_topics(settings, jurisdictions)
    start_worker(settings)
    start_worker(settings, "projection", "projection")
    engine = db.engine_for(settings.read_model_url)
    db.migrate(engine)
    sent_requests, sent_updates = [], []
    producer = RequestProducer(bootstrap_servers=settings.bootstrap_servers, security=kafka_security.PLAINTEXT,
                               topics=topics, codec=CODEC)
    update_producer = UpdateProducer(bootstrap_servers=settings.bootstrap_servers, security=kafka_security.PLAINTEXT,
                                     topics=topics, codec=CODEC)

    def submit(record):
        producer.send_record(record).get(timeout=10)
        sent_requests.append(record)

    def send_update(record):
        update_producer.send_record(record).get(timeout=10)
        sent_updates.append(record)

    app = create_app(settings=settings, jurisdictions=jurisdictions, engine=engine, submit=submit,
                     send_update=send_update, post_wait_s=0, read_model_complete=api_progress.checker(settings))
    client = TestClient(app)  # re-raises any server error: a 5xx fails the test with its traceback
    statuses: dict[int, int] = defaultdict(int)
    try:
        @settings_for(SUBMISSIONS)
        @given(form=submission_forms())
        def post_request(form):
            before = len(sent_requests)
            response = client.post(f"{BASE}/requests.json", data=form)
            statuses[response.status_code] += 1
            assert response.status_code in (200, 400, 403), response.text
            assert len(sent_requests) == before + (response.status_code == 200), "sent only when accepted"

        post_request()
        assert statuses[200] >= 20 and statuses[400] >= 20, dict(statuses)

        wanted = {r["request_id"] for r in sent_requests}
        decided = wait_until(lambda: (d := _decisions(settings.bootstrap_servers, topics)[0]) and wanted <= set(d)
                             and d, timeout_s=120, message="an intake decision for every request sent")
        assert {rid: ids for rid, ids in decided.items() if rid in wanted and len(ids) != 1} == {}
        ids = ",".join(sorted(wanted))
        listed = wait_until(lambda: len(rows := client.get(f"{BASE}/requests.json", params={
            "service_request_id": ids}).json()) == len(wanted) and rows, timeout_s=60,
            message="every request sent in the read model")
        assert {r["service_request_id"] for r in listed} == wanted
        ET.fromstring(client.get(f"{BASE}/requests.xml", params={"service_request_id": ids,
                                                                "extensions": "true"}).content)
        json.loads(client.get(f"{BASE}/requests.json", params={"service_request_id": ids}).content,
                   parse_constant=lambda c: pytest.fail(f"{c} in JSON"))

        codes = {agency.name: code for code, agency in jurisdictions["nyc"].agency_names.items()}
        known = [(r["service_request_id"], codes.get(r["agency_responsible"])) for r in listed
                 if r["status"] == "open" and codes.get(r["agency_responsible"]) in ("DOT", "NYPD")]
        assert known, "open requests of the two agencies with demo keys"

        @settings_for(UPDATES)
        @given(form=update_forms(known))
        def post_update(form):
            before = len(sent_updates)
            response = client.post(f"{BASE}/servicerequestupdates.json", data=form)
            statuses[1000 + response.status_code] += 1
            assert response.status_code in (200, 400, 403, 404), response.text
            sent = sent_updates[before:]
            if response.status_code == 200 or not sent:
                assert len(sent) == (response.status_code == 200), "sent only when accepted"
            else:  # handed on, then refused by the lifecycle itself (its decision was in the read model in time)
                assert len(sent) == 1 and response.status_code == 400, response.text
                with engine.connect() as conn:
                    decided = api_updates.outcome(conn, sent[0]["request_id"], sent[0]["update_id"])
                assert decided is not None and decided["outcome"] == "refused", (decided, response.text)

        post_update()
        assert statuses[1200] >= 20 and statuses[1400] >= 10 and statuses[1404] >= 1, dict(statuses)
        wanted_updates = {u["update_id"] for u in sent_updates}
        updates = wait_until(lambda: (d := _decisions(settings.bootstrap_servers, topics)[1]) and
                             wanted_updates <= set(d) and d, timeout_s=90,
                             message="a lifecycle decision for every update sent")
        assert {uid: ids for uid, ids in updates.items() if uid in wanted_updates and len(ids) != 1} == {}
    finally:
        producer.close()
        update_producer.close()
        engine.dispose()
    print(f"\nfuzzed through the API: {SUBMISSIONS} submissions, {UPDATES} updates drawn; answers "
          f"{ {k: v for k, v in sorted(statuses.items())} } (1xxx: updates); {len(sent_requests)} requests and "
          f"{len(sent_updates)} updates handed on, each decided once")


def settings_for(examples: int):
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])
