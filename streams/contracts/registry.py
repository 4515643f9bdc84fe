"""Where schema ids come from: ids pinned in schemas/registry.json, or a Confluent Schema Registry."""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Protocol

from streams.contracts import exceptions
from streams.contracts import schemas as contract_schemas

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
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method,
                                         headers={"Content-Type": _CONTENT_TYPE, "Accept": _CONTENT_TYPE})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError:
            raise  # the caller tells "no such schema" (404) from a failing registry
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise exceptions.RegistryError(f"{method} {path}: {error}") from None


def from_settings(schema_registry_url: str | None) -> Registry:
    """The HTTP registry when a URL is configured, else the pinned ids."""
    if schema_registry_url:
        return HttpRegistry(url=schema_registry_url)
    return PinnedRegistry.from_repository()
