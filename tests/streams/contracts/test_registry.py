"""Schema ids from a Confluent-compatible Schema Registry (its REST protocol served in-process) or pinned ids."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from streams.contracts import codec as contract_codec
from streams.contracts import exceptions
from streams.contracts import registry as contract_registry
from streams.contracts import schemas as contract_schemas
from tests.streams.contracts.test_codec import RECORD


class _Registry(BaseHTTPRequestHandler):
    """POST /subjects/{subject}/versions and GET /schemas/ids/{id}, as the Confluent Schema Registry answers them."""

    schemas: dict[int, str] = {}
    posted: list[str] = []

    def do_POST(self):
        subject = self.path.split("/")[2]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.posted.append(subject)
        known = {text: number for number, text in self.schemas.items()}
        number = known.get(body["schema"]) or 100 + len(self.schemas)
        self.schemas[number] = body["schema"]
        self._answer(200, {"id": number})

    def do_GET(self):
        number = int(self.path.rsplit("/", 1)[1])
        if number in self.schemas:
            self._answer(200, {"schema": self.schemas[number]})
        else:
            self._answer(404, {"error_code": 40403, "message": "Schema not found"})

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def registry_url():
    _Registry.schemas, _Registry.posted = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_registered_ids_frame_the_bytes_and_another_codec_decodes_them(registry_url):
    writer = contract_codec.from_settings(registry_url)
    data = writer.encode(contract_schemas.SUBMITTED, RECORD)
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == 100
    assert _Registry.posted == [contract_schemas.SUBMITTED], "record-name subject, registered once"
    writer.encode(contract_schemas.SUBMITTED, RECORD)
    assert len(_Registry.posted) == 1, "the id is cached"
    reader = contract_codec.from_settings(registry_url)
    assert reader.decode(contract_schemas.SUBMITTED, data)["request_id"] == RECORD["request_id"]


def test_an_id_the_registry_does_not_know_is_an_unknown_schema_id(registry_url):
    reader = contract_codec.from_settings(registry_url)
    with pytest.raises(exceptions.UnknownSchemaId):
        reader.decode(contract_schemas.SUBMITTED, b"\x00\x00\x00\x03\x09" + b"\x00" * 20)


def test_an_unreachable_registry_is_a_registry_error_not_a_crash():
    registry = contract_registry.HttpRegistry(url="http://127.0.0.1:9", timeout_s=0.5)
    with pytest.raises(exceptions.RegistryError):
        registry.id_for(contract_schemas.SUBMITTED)


def test_without_a_registry_url_the_pinned_ids_are_used():
    assert isinstance(contract_registry.from_settings(None), contract_registry.PinnedRegistry)
