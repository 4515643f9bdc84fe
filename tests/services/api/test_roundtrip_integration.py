"""The whole path on the real broker, on SQLite and on PostgreSQL: POST through the Open311 API → routed by a
worker → visible with its agency at requests/{id} → an agency's update through the API → the new status
visible in JSON and XML, and the citizen told by the notification sender."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from civicflow.services.broker import service as broker_service
from civicflow.streams.observability import catalogue as metrics_catalogue
from tests.conftest import wait_until

pytestmark = pytest.mark.integration

# Each step takes well under a second alone; make test runs this beside the embedded session on two cores, where a
# process can wait its turn for tens of seconds (CI's run of it waited more than 60 s for the token).
STEP_S = 150


def _call(url: str, form: dict | None = None) -> tuple[int, bytes]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'readmodel.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def test_a_request_posted_through_the_api_is_routed_updated_and_told(platform_settings, start_worker, database_url,
                                                                     tmp_path):
    outbox = tmp_path / "outbox.jsonl"
    settings = platform_settings(database_url=database_url, notifications_file=outbox)
    api_port = broker_service.free_port()
    base = f"http://127.0.0.1:{api_port}/open311/v2"
    ports = {name: broker_service.free_port() for name in ("worker", "projection", "notifier")}
    start_worker(settings, "worker", CIVICFLOW_WEB_PORT=str(ports["worker"]), CIVICFLOW_LAG_INTERVAL_S="2")
    start_worker(settings, "projection", "projection", CIVICFLOW_WEB_PORT=str(ports["projection"] - 200))
    start_worker(settings, "notifier", "notifier", CIVICFLOW_WEB_PORT=str(ports["notifier"] - 300))
    start_worker(settings, "api", "api", CIVICFLOW_API_PORT=str(api_port))
    worker_started = time.time()
    wait_until(lambda: _call(f"{base}/discovery.json")[0] == 200, timeout_s=STEP_S, message="the API listening")

    status, body = _call(f"{base}/requests.json", {
        "api_key": "demo-mobile-key", "service_code": "noise-residential", "lat": "40.7580", "long": "-73.9855",
        "attribute[descriptor]": "loud-music-party", "description": "Party upstairs every night",
        "email": "ana@example.org", "first_name": "Ana", "language": "es"})
    assert status == 200, body
    [answer] = json.loads(body)
    request_id = answer.get("service_request_id") or answer["token"]
    if "token" in answer:
        wait_until(lambda: "service_request_id" in json.loads(_call(f"{base}/tokens/{request_id}.json")[1] or "[{}]")[0],
                   timeout_s=STEP_S, message="the token resolved")

    def shown(fmt="json"):
        code, data = _call(f"{base}/requests/{request_id}.{fmt}")
        return json.loads(data)[0] if code == 200 and fmt == "json" else (data if code == 200 else None)

    # the agency comes with the routed record, the expected datetime with the lifecycle's opened event after it
    routed = wait_until(lambda: (r := shown()) and r.get("agency_responsible") and r.get("expected_datetime") and r,
                        timeout_s=STEP_S, message="the request routed with its deadline")
    assert routed["agency_responsible"] == "New York City Police Department" and routed["status"] == "open"
    assert routed["expected_datetime"] and "email" not in routed

    status, body = _call(f"{base}/servicerequestupdates.json", {
        "api_key": "demo-nypd-agency-key", "service_request_id": request_id, "status": "FIXED",
        "description": "Officers asked for the music to be turned down.",
        "updated_datetime": datetime.now(timezone.utc).isoformat()})
    assert status == 200, body
    closed = wait_until(lambda: (r := shown()) and r["status"] == "closed" and r, timeout_s=STEP_S,
                        message="the resolution visible")
    assert closed["status_notes"] == "Officers asked for the music to be turned down."
    xml = ElementTree.fromstring(shown("xml"))
    assert xml.tag == "service_requests" and xml.find("request/status").text == "closed"
    assert xml.find("request/agency_responsible").text == "New York City Police Department"

    def told():
        lines = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
        return {m["kind"] for m in lines if m["request_id"] == request_id} >= {"received", "routed", "resolved"} \
            and lines
    messages = wait_until(told, timeout_s=STEP_S, message="the citizen told")
    resolved = next(m for m in messages if m["kind"] == "resolved")
    assert resolved["to"] == "ana@example.org" and resolved["language"] == "es" and "Hola Ana" in resolved["body"]

    # the worker exports consumer lag every 2 s once its groups have committed: on Apache Kafka the round trip above
    # can end (about 0.5 s after the worker is ready) before that pass has, so wait for it instead of racing it
    wait_until(lambda: any(n == "civicflow_consumer_lag_messages"
                           for n, _ in _scrape(f"http://127.0.0.1:{ports['worker']}/metrics")[1]),
               timeout_s=30, message="the worker's first consumer-lag export")
    _check_metrics({"worker": f"http://127.0.0.1:{ports['worker']}/metrics",
                    "projection": f"http://127.0.0.1:{ports['projection']}/metrics",
                    "notifier": f"http://127.0.0.1:{ports['notifier']}/metrics",
                    "api": f"http://127.0.0.1:{api_port}/metrics"}, started=worker_started)


def _scrape(url: str) -> tuple[set[str], dict]:
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    families, samples = set(), {}
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return families, samples


def _total(samples: dict, name: str, **labels) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def _check_metrics(urls: dict[str, str], *, started: float) -> None:
    """Every process serves its catalogue's families, and the values say what the round trip did."""
    scraped = {process: _scrape(url) for process, url in urls.items()}
    for process, names in metrics_catalogue.CATALOGUE.items():
        assert set(names) <= scraped[process][0], (process, set(names) - scraped[process][0])
    worker = scraped["worker"][1]
    assert _total(worker, "civicflow_stage_events_in_total", stage="validate") >= 1
    assert _total(worker, "civicflow_stage_events_out_total", stage="route", outcome="routed") >= 1
    assert _total(worker, "civicflow_stage_events_out_total", stage="lifecycle", outcome="transition") >= 1
    assert _total(worker, "civicflow_sla_met_total", agency="NYPD", goal="resolve") >= 1
    assert _total(worker, "civicflow_time_to_resolve_seconds_count", agency="NYPD") >= 1
    assert _total(worker, "civicflow_time_to_resolve_by_district_seconds_count", layer="borough",
                  district="Manhattan") >= 1
    assert _total(worker, "civicflow_time_to_resolve_by_channel_seconds_count", channel="mobile") >= 1
    assert _total(worker, "civicflow_intake_to_routed_seconds_count") >= 1
    assert started <= _total(worker, "civicflow_stage_last_processed_timestamp_seconds", stage="route") <= time.time()
    assert any(n == "civicflow_consumer_lag_messages" for n, _ in worker), "lag exported for the groups"
    assert all(v >= 0 for (n, _), v in worker.items() if n.startswith("civicflow_"))
    assert _total(scraped["projection"][1], "civicflow_stage_events_out_total", stage="projection",
                  outcome="applied") >= 3
    assert _total(scraped["api"][1], "civicflow_api_requests_total", status_class="2xx") >= 3
    assert _total(scraped["notifier"][1], "civicflow_notifications_delivered_total", channel="email") >= 3
