"""Where schema ids come from: ids pinned in schemas/registry.json, or a Confluent Schema Registry (over http or
https, with HTTP basic authentication when SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO or its _FILE is set)."""

import base64
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from civicflow.streams.contracts import exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.kafka import security as kafka_security

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class Registry(Protocol):
    """Maps schema ids to schemas and record types to the id of their current schema."""

    def id_for(self, subject: str) -> int: ...

    def schema_for(self, schema_id: int) -> dict: ...


@dataclass
class PinnedRegistry:
    """The ids committed in schemas/registry.json; the current .avsc of a subject is its newest version."""

    by_id: dict[int, dict]
    latest: dict[str, int]

    @classmethod
    def from_repository(cls) -> "PinnedRegistry":
        """Read schemas/registry.json and every version file it names."""
        index = json.loads((contract_schemas.SCHEMAS_DIR / "registry.json").read_text())
        by_id, latest, newest = {}, {}, {}
        for entry in index["versions"]:
            by_id[entry["id"]] = contract_schemas.read(contract_schemas.SCHEMAS_DIR / entry["file"])
            if entry["version"] > newest.get(entry["subject"], 0):
                newest[entry["subject"]] = entry["version"]
                latest[entry["subject"]] = entry["id"]
        return cls(by_id=by_id, latest=latest)

    def id_for(self, subject: str) -> int:
        try:
            return self.latest[subject]
        except KeyError:
            raise exceptions.RegistryError(f"no pinned schema id for {subject}") from None

    def schema_for(self, schema_id: int) -> dict:
        try:
            return self.by_id[schema_id]
        except KeyError:
            raise exceptions.UnknownSchemaId(f"schema id {schema_id} is not pinned in schemas/registry.json") from None


@dataclass
class HttpRegistry:
    """A Confluent-compatible Schema Registry; registers the current schemas under record-name subjects."""

    url: str
    timeout_s: float = 5.0
    user_info: str | None = field(default=None, repr=False)  # "user:password" for HTTP basic authentication
    ca_file: Path | None = None  # the CA of an https registry (None: the system's CAs)
    _ids: dict[str, int] = field(default_factory=dict)
    _schemas: dict[int, dict] = field(default_factory=dict)

    def id_for(self, subject: str) -> int:
        if subject not in self._ids:
            schema = contract_schemas.current()[subject]
            try:
                answer = self._call("POST", f"/subjects/{subject}/versions", {"schema": json.dumps(schema)})
            except urllib.error.HTTPError as error:  # 409: incompatible with the registered versions
                raise exceptions.RegistryError(f"registering {subject}: HTTP {error.code} {error.reason}") from None
            self._ids[subject] = answer["id"]
            self._schemas[answer["id"]] = schema
        return self._ids[subject]

    def schema_for(self, schema_id: int) -> dict:
        if schema_id not in self._schemas:
            try:
                answer = self._call("GET", f"/schemas/ids/{schema_id}", None)
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    raise exceptions.UnknownSchemaId(f"schema id {schema_id} is not in the registry") from None
                raise exceptions.RegistryError(f"GET /schemas/ids/{schema_id}: HTTP {error.code}") from None
            self._schemas[schema_id] = json.loads(answer["schema"])
        return self._schemas[schema_id]

    def _call(self, method: str, path: str, body: dict | None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": _CONTENT_TYPE, "Accept": _CONTENT_TYPE}
        if self.user_info:
            headers["Authorization"] = "Basic " + base64.b64encode(self.user_info.encode()).decode()
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method, headers=headers)
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s, context=context) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError:
            raise  # the caller tells "no such schema" (404) from a failing registry
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise exceptions.RegistryError(f"{method} {path}: {error}") from None


def from_url(url: str | None, *, user_info: str | None = None, ca_file: Path | None = None) -> Registry:
    """The HTTP registry at `url` (with basic auth and a CA file if given), else the pinned ids."""
    if url:
        return HttpRegistry(url=url, user_info=user_info, ca_file=ca_file)
    return PinnedRegistry.from_repository()


def from_settings(settings) -> Registry:
    """The registry of the settings: SCHEMA_REGISTRY_URL with its basic auth and CA file, else the pinned ids.
    Raises SecurityConfigError (one line) for user info without a colon or a CA file that does not exist."""
    user_info = kafka_security.read_secret(settings.schema_registry_basic_auth_user_info,
                                           settings.schema_registry_basic_auth_user_info_file,
                                           variable="SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO")
    if user_info is not None and ":" not in user_info:
        raise kafka_security.SecurityConfigError("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO: expected user:password")
    ca_file = settings.schema_registry_ca_file
    if ca_file is not None and not Path(ca_file).is_file():
        raise kafka_security.SecurityConfigError(f"SCHEMA_REGISTRY_CA_FILE={ca_file}: no such file")
    if (user_info or ca_file) and not settings.schema_registry_url:
        raise kafka_security.SecurityConfigError("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO or SCHEMA_REGISTRY_CA_FILE "
                                                 "is set without SCHEMA_REGISTRY_URL")
    return from_url(settings.schema_registry_url, user_info=user_info, ca_file=ca_file)
