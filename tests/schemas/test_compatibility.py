"""Contracts are public: every schema stays BACKWARD_TRANSITIVE compatible with its registered versions."""

import io
import json
from datetime import datetime, timezone

import fastavro
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from avro.schema import parse as avro_parse

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import registry as contract_registry
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import wire

INDEX = json.loads((contract_schemas.SCHEMAS_DIR / "registry.json").read_text())
VERSIONS = [(v["subject"], v["version"], v["id"], contract_schemas.SCHEMAS_DIR / v["file"]) for v in INDEX["versions"]]


def compatible(*, reader: dict, writer: dict) -> bool:
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        reader=avro_parse(json.dumps(reader)), writer=avro_parse(json.dumps(writer)))
    return result.compatibility is SchemaCompatibilityType.compatible


@pytest.mark.parametrize("subject,version,schema_id,path", VERSIONS, ids=[f"{s}.v{v}" for s, v, _, _ in VERSIONS])
def test_current_schema_reads_every_registered_version(subject, version, schema_id, path):
    assert compatible(reader=contract_schemas.current()[subject], writer=contract_schemas.read(path))


def test_every_current_schema_is_its_newest_registered_version():
    registry = contract_registry.PinnedRegistry.from_repository()
    for subject, schema in contract_schemas.current().items():
        pinned = registry.schema_for(registry.id_for(subject))
        assert contract_schemas.canonical(schema) == contract_schemas.canonical(pinned), (
            f"{subject} changed: add it to schemas/registry.json as a new version with a new id")


def test_ids_are_unique_and_versions_increase():
    ids = [v["id"] for v in INDEX["versions"]]
    assert len(ids) == len(set(ids))
    for subject in {v["subject"] for v in INDEX["versions"]}:
        numbers = [v["version"] for v in INDEX["versions"] if v["subject"] == subject]
        assert numbers == list(range(1, len(numbers) + 1))


def _walk_fields(schema):
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            yield schema
            for item in schema["fields"]:
                yield from _walk_fields(item["type"])
        elif schema.get("type") in ("array", "map"):
            yield from _walk_fields(schema.get("items") or schema.get("values"))
    elif isinstance(schema, list):
        for branch in schema:
            yield from _walk_fields(branch)


@pytest.mark.parametrize("subject", sorted(contract_schemas.current()))
def test_every_record_and_field_is_documented(subject):
    for record in _walk_fields(contract_schemas.current()[subject]):
        assert record.get("doc"), f"{record['name']} has no doc"
        for item in record["fields"]:
            assert item.get("doc"), f"{record['name']}.{item['name']} has no doc"


@pytest.mark.parametrize("subject", sorted(contract_schemas.current()))
def test_personal_fields_are_marked(subject):
    for record in _walk_fields(contract_schemas.current()[subject]):
        for item in record["fields"]:
            if item["name"] in {"email", "phone", "first_name", "last_name", "device_id", "account_id"}:
                assert "PERSONAL DATA" in item["doc"], f"{record['name']}.{item['name']}"


SUBMITTED = contract_schemas.current()[contract_schemas.SUBMITTED]


def _with_fields(schema: dict, fields: list) -> dict:
    return {**schema, "fields": fields}


BREAKING_CHANGES = {
    "new field without default": lambda s: _with_fields(s, s["fields"] + [{"name": "ward", "type": "string"}]),
    "field type narrowed": lambda s: _with_fields(s, [
        {**f, "type": "int"} if f["name"] == "submitted_at" else f for f in s["fields"]]),
    "field renamed without alias": lambda s: _with_fields(s, [
        {**f, "name": "service"} if f["name"] == "service_code" else f for f in s["fields"]]),
    "enum symbol removed without default": lambda s: _with_fields(s, [
        {**f, "type": {"type": "enum", "name": "Channel", "symbols": ["web", "mobile"]}}
        if f["name"] == "channel" else f for f in s["fields"]]),
}


@pytest.mark.parametrize("change", sorted(BREAKING_CHANGES))
def test_a_change_that_would_break_a_consumer_is_caught(change):
    changed = BREAKING_CHANGES[change](SUBMITTED)
    assert not compatible(reader=changed, writer=SUBMITTED)


def test_adding_an_optional_field_is_compatible():
    evolved = _with_fields(SUBMITTED, SUBMITTED["fields"] + [
        {"name": "ward", "type": ["null", "string"], "default": None, "doc": "x"}])
    assert compatible(reader=evolved, writer=SUBMITTED)


def test_bytes_written_with_an_older_version_decode_with_the_current_reader():
    """v1 bytes (as produced before any later change) read with today's schema; an older v0 without optional
    fields stands in for the day a v2 exists."""
    older = _with_fields(SUBMITTED, [f for f in SUBMITTED["fields"] if f["name"] not in ("external_id", "due_at")])
    record = {"request_id": "r-1", "jurisdiction_id": "nyc", "service_code": "x", "channel": "web",
              "submitted_at": datetime(2026, 3, 1, tzinfo=timezone.utc), "attributes": {"a": ["1"]}}
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(older), record)
    registry = contract_registry.PinnedRegistry.from_repository()
    registry.by_id[999] = older
    codec = contract_codec.Codec(registry=registry)
    decoded = codec.decode(contract_schemas.SUBMITTED, wire.frame(999, body.getvalue()))
    assert decoded["request_id"] == "r-1" and decoded["due_at"] is None and decoded["external_id"] is None
    for path in sorted((contract_schemas.SCHEMAS_DIR / "versions").glob("ServiceRequestSubmitted.v*.avsc")):
        body = io.BytesIO()
        fastavro.schemaless_writer(body, fastavro.parse_schema(contract_schemas.read(path)), record)
        schema_id = next(v[2] for v in VERSIONS if v[3] == path)
        assert codec.decode(contract_schemas.SUBMITTED, wire.frame(schema_id, body.getvalue()))["channel"] == "web"
