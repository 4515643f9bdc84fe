"""The whole path on the real broker, on SQLite and on PostgreSQL: POST through the Open311 API → routed by a
worker → visible with its agency at requests/{id} → an agency's update through the API → the new status
visible in JSON and XML, and the citizen told by the notification sender."""

import json
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timezone

import pytest

from services.broker import service as broker_service
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


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
    start_worker(settings, "worker")
    start_worker(settings, "projection", "projection", CIVICFLOW_WEB_PORT=str(broker_service.free_port()))
    start_worker(settings, "notifier", "notifier")
    start_worker(settings, "api", "api", CIVICFLOW_API_PORT=str(api_port))
    wait_until(lambda: _call(f"{base}/discovery.json")[0] == 200, timeout_s=60, message="the API listening")

    status, body = _call(f"{base}/requests.json", {
        "api_key": "demo-mobile-key", "service_code": "noise-residential", "lat": "40.7580", "long": "-73.9855",
        "attribute[descriptor]": "loud-music-party", "description": "Party upstairs every night",
        "email": "ana@example.org", "first_name": "Ana", "language": "es"})
    assert status == 200, body
    [answer] = json.loads(body)
    request_id = answer.get("service_request_id") or answer["token"]
    if "token" in answer:
        wait_until(lambda: "service_request_id" in json.loads(_call(f"{base}/tokens/{request_id}.json")[1] or "[{}]")[0],
                   timeout_s=60, message="the token resolved")

    def shown(fmt="json"):
        code, data = _call(f"{base}/requests/{request_id}.{fmt}")
        return json.loads(data)[0] if code == 200 and fmt == "json" else (data if code == 200 else None)

    routed = wait_until(lambda: (r := shown()) and r.get("agency_responsible") and r, timeout_s=60,
                        message="the request routed")
    assert routed["agency_responsible"] == "New York City Police Department" and routed["status"] == "open"
    assert routed["expected_datetime"] and "email" not in routed

    status, body = _call(f"{base}/servicerequestupdates.json", {
        "api_key": "demo-nypd-agency-key", "service_request_id": request_id, "status": "FIXED",
        "description": "Officers asked for the music to be turned down.",
        "updated_datetime": datetime.now(timezone.utc).isoformat()})
    assert status == 200, body
    closed = wait_until(lambda: (r := shown()) and r["status"] == "closed" and r, timeout_s=60,
                        message="the resolution visible")
    assert closed["status_notes"] == "Officers asked for the music to be turned down."
    xml = ElementTree.fromstring(shown("xml"))
    assert xml.tag == "service_requests" and xml.find("request/status").text == "closed"
    assert xml.find("request/agency_responsible").text == "New York City Police Department"

    def told():
        lines = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
        return {m["kind"] for m in lines if m["request_id"] == request_id} >= {"received", "routed", "resolved"} \
            and lines
    messages = wait_until(told, timeout_s=60, message="the citizen told")
    resolved = next(m for m in messages if m["kind"] == "resolved")
    assert resolved["to"] == "ana@example.org" and resolved["language"] == "es" and "Hola Ana" in resolved["body"]
