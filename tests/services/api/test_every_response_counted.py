"""Every response is counted, the 500s of unexpected errors included, and a client that hangs up in the middle of
its body is a 4xx, not a 500 (issue 19: after three 500s /metrics had no 5xx series, since Starlette's catch-all
answers outside every middleware, and a Content-Length larger than the body was logged as a 500)."""

import socket
import threading
import time

import pytest
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from civicflow.services.api.service import create_app
from civicflow.services.broker import service as broker_service
from civicflow.services.readmodel import db
from civicflow.streams.settings import Settings
from tests.services.api.helpers import BASE, errors_of


def _count(endpoint: str, method: str, status_class: str) -> float:
    return REGISTRY.get_sample_value("civicflow_api_requests_total", {
        "endpoint": endpoint, "method": method, "status_class": status_class}) or 0.0


def _stage(outcome: str) -> float:
    return REGISTRY.get_sample_value("civicflow_stage_events_out_total", {"stage": "api", "outcome": outcome}) or 0.0


@pytest.fixture
def broken_app(jurisdictions, tmp_path, sent):
    """The API on a read model whose tables were never created: every read fails unexpectedly."""
    engine = db.engine_for(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    yield create_app(settings=Settings(), jurisdictions=jurisdictions, engine=engine, submit=sent.submit,
                     send_update=sent.send_update, post_wait_s=0.1)
    engine.dispose()


def test_unexpected_errors_are_answered_in_the_spec_format_and_counted_as_5xx(broken_app):
    client = TestClient(broken_app, raise_server_exceptions=False)
    json_endpoint, xml_endpoint = f"{BASE}/requests.json", f"{BASE}/requests.{{fmt}}"
    before = _count(json_endpoint, "GET", "5xx"), _count(xml_endpoint, "GET", "5xx")
    stage_before = _stage("5xx")
    for fmt in ("json", "xml", "json"):
        response = client.get(f"{BASE}/requests.{fmt}")
        assert response.status_code == 500
        assert errors_of(response) == [{"code": 500, "description": "internal error"}]
    assert (_count(json_endpoint, "GET", "5xx"), _count(xml_endpoint, "GET", "5xx")) == (before[0] + 2, before[1] + 1)
    assert _stage("5xx") == stage_before + 3
    scraped = client.get("/metrics").text
    assert 'civicflow_api_requests_total{endpoint="/open311/v2/requests.json",method="GET",status_class="5xx"}' \
        in scraped, "the series the CivicflowAPIErrors alert sums"


def test_handled_errors_are_counted_once_each(client):
    endpoint = f"{BASE}/requests/{{service_request_id}}.{{fmt}}"
    before = _count(endpoint, "GET", "4xx")
    assert client.get(f"{BASE}/requests/nope.xml").status_code == 404
    assert client.get(f"{BASE}/requests/nope.XML").status_code == 404
    assert _count(endpoint, "GET", "4xx") == before + 2


@pytest.fixture
def served(make_client):
    """The API served by uvicorn on a free port, as in production (the test client never sends a short body)."""
    app = make_client().app
    port = broker_service.free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _raw(port: int, request: bytes, *, hang_up: bool) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        if hang_up:
            conn.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


def _post(declared: int, body: bytes) -> bytes:
    return (b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {declared}\r\nConnection: close\r\n\r\n".encode() + body)


def _wait_for(predicate, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_client_that_hangs_up_before_its_content_length_is_not_a_500(served, sent, caplog):
    endpoint = f"{BASE}/requests.json"
    errors_before, client_before = _count(endpoint, "POST", "5xx"), _count(endpoint, "POST", "4xx")
    _raw(served, _post(500, b"api_key=demo-web-key&service_code=noise"), hang_up=True)
    assert _wait_for(lambda: _count(endpoint, "POST", "4xx") == client_before + 1), "counted as the client's error"
    assert _count(endpoint, "POST", "5xx") == errors_before
    assert "api_unexpected_error" not in caplog.text
    assert sent.requests == []


def test_a_body_longer_than_its_content_length_is_a_400(served, sent):
    answer = _raw(served, _post(5, b"api_key=demo-web-key&service_code=noise-residential"), hang_up=False)
    assert answer.startswith(b"HTTP/1.1 400") or answer.startswith(b"HTTP/1.1 403"), answer[:200]
    assert sent.requests == []
