"""Schema ids from a Confluent-compatible Schema Registry (its REST protocol served in-process) or pinned ids."""

import base64
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions
from civicflow.streams.contracts import registry as contract_registry
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.kafka.exceptions import SecurityConfigError
from civicflow.streams.settings import Settings
from tests.streams.contracts.test_codec import RECORD
from tests.support import tls as tls_support


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
    writer = contract_codec.from_url(registry_url)
    data = writer.encode(contract_schemas.SUBMITTED, RECORD)
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == 100
    assert _Registry.posted == [contract_schemas.SUBMITTED], "record-name subject, registered once"
    writer.encode(contract_schemas.SUBMITTED, RECORD)
    assert len(_Registry.posted) == 1, "the id is cached"
    reader = contract_codec.from_url(registry_url)
    assert reader.decode(contract_schemas.SUBMITTED, data)["request_id"] == RECORD["request_id"]


def test_an_id_the_registry_does_not_know_is_an_unknown_schema_id(registry_url):
    reader = contract_codec.from_url(registry_url)
    with pytest.raises(exceptions.UnknownSchemaId):
        reader.decode(contract_schemas.SUBMITTED, b"\x00\x00\x00\x03\x09" + b"\x00" * 20)


def test_an_unreachable_registry_is_a_registry_error_not_a_crash():
    registry = contract_registry.HttpRegistry(url="http://127.0.0.1:9", timeout_s=0.5)
    with pytest.raises(exceptions.RegistryError):
        registry.id_for(contract_schemas.SUBMITTED)


def test_without_a_registry_url_the_pinned_ids_are_used():
    assert isinstance(contract_registry.from_url(None), contract_registry.PinnedRegistry)


class _SecuredRegistry(_Registry):
    """The same registry behind HTTP basic authentication: 401 without the right Authorization header."""

    expected = ""

    def do_POST(self):
        if self._authorized():
            super().do_POST()

    def do_GET(self):
        if self._authorized():
            super().do_GET()

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == self.expected:
            return True
        self._answer(401, {"error_code": 401, "message": "Unauthorized"})
        return False


@pytest.fixture
def https_registry(tmp_path):
    """An https registry (certificate from a throwaway CA) that wants user `civicflow`, password `pa:ss`."""
    ca = tls_support.CertificateAuthority(tmp_path)
    server_cert = ca.issue("registry")
    _Registry.schemas, _Registry.posted = {}, []
    _SecuredRegistry.expected = "Basic " + base64.b64encode(b"civicflow:pa:ss").decode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SecuredRegistry)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(server_cert.cert), str(server_cert.key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", ca
    server.shutdown()


def test_an_https_registry_with_basic_auth_is_used_with_the_settings_user_info_and_ca(https_registry, tmp_path):
    url, ca = https_registry
    secret = tmp_path / "user-info"
    secret.write_text("civicflow:pa:ss\n")
    settings = Settings(SCHEMA_REGISTRY_URL=url, SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE=str(secret),
                        SCHEMA_REGISTRY_CA_FILE=str(ca.cert))
    codec = contract_codec.from_settings(settings)
    data = codec.encode(contract_schemas.SUBMITTED, RECORD)
    assert int.from_bytes(data[1:5], "big") == 100 and _Registry.posted == [contract_schemas.SUBMITTED]
    assert contract_codec.from_settings(settings).decode(contract_schemas.SUBMITTED, data)["request_id"] == \
        RECORD["request_id"]


def test_wrong_credentials_or_an_unknown_ca_are_registry_errors(https_registry):
    url, ca = https_registry
    refused = contract_registry.from_url(url, user_info="civicflow:wrong", ca_file=ca.cert)
    with pytest.raises(exceptions.RegistryError, match="401"):
        refused.id_for(contract_schemas.SUBMITTED)
    untrusted = contract_registry.from_url(url, user_info="civicflow:pa:ss")  # the system's CAs only
    with pytest.raises(exceptions.RegistryError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.id_for(contract_schemas.SUBMITTED)
    assert _Registry.posted == []


@pytest.mark.parametrize(("values", "message"), [
    ({"SCHEMA_REGISTRY_URL": "https://r", "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "no-colon"}, "user:password"),
    ({"SCHEMA_REGISTRY_URL": "https://r", "SCHEMA_REGISTRY_CA_FILE": "/nonexistent.pem"}, "no such file"),
    ({"SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "u:p"}, "without SCHEMA_REGISTRY_URL"),
    ({"SCHEMA_REGISTRY_URL": "https://r", "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO": "u:p",
      "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE": "/x"}, "both set"),
])
def test_registry_settings_that_cannot_work_are_one_line_errors(values, message):
    with pytest.raises(SecurityConfigError, match=message):
        contract_registry.from_settings(Settings(**values))
