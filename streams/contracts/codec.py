"""Avro encode/decode in the wire format, resolving old writer schemas to the current reader schema."""

import io
from dataclasses import dataclass, field
from datetime import datetime

import fastavro
from fastavro.logical_writers import LOGICAL_WRITERS
from fastavro.read import SchemaResolutionError

from civicflow.streams.contracts import exceptions, wire
from civicflow.streams.contracts import registry as contract_registry
from civicflow.streams.contracts import schemas as contract_schemas

_BAD_BODY = (EOFError, ValueError, IndexError, UnicodeDecodeError, TypeError, KeyError, OverflowError)
_TIMESTAMP_MILLIS = LOGICAL_WRITERS["long-timestamp-millis"]


def millis(moment: datetime | int | None) -> int | None:
    """A timestamp-millis field's value as fastavro writes a datetime: the same bytes, but an int is written at
    once where a datetime in a union (["null", timestamp-millis]) costs fastavro about 9 µs to resolve its branch."""
    return None if moment is None else _TIMESTAMP_MILLIS(moment, None)


@dataclass
class Codec:
    """Encodes records with their current schema id; decodes any registered version of the expected type."""

    registry: contract_registry.Registry
    _readers: dict[str, dict] = field(default_factory=dict)
    _pairs: dict[tuple[str, int], tuple[dict, dict | None]] = field(default_factory=dict)
    _writers: dict[str, tuple[bytes, dict]] = field(default_factory=dict)
    _splits: dict[tuple[str, str], tuple[dict, dict, dict]] = field(default_factory=dict)

    def encode(self, subject: str, record: dict) -> bytes:
        """Record → framed bytes, written with the subject's current schema."""
        header, parsed = self._writer(subject)
        out = io.BytesIO()
        out.write(header)
        fastavro.schemaless_writer(out, parsed, record)
        return out.getvalue()

    def encode_variants(self, subject: str, record: dict, *, field_name: str, values: list) -> list[bytes]:
        """The record framed once per value of one field, encoding the other fields only once.

        Avro writes a record as its fields' encodings one after another, so the bytes before and after the
        field are shared: the routed topic and an agency's work topic differ only in the contact field.
        """
        if all(value == values[0] for value in values[1:]):  # one encoding serves them all
            return [self.encode(subject, {**record, field_name: values[0]})] * len(values)
        header, _ = self._writer(subject)
        before, alone, after = self._split(subject, field_name)
        head, tail = io.BytesIO(), io.BytesIO()
        fastavro.schemaless_writer(head, before, record)
        fastavro.schemaless_writer(tail, after, record)
        shared_head, shared_tail = header + head.getvalue(), tail.getvalue()
        encoded = []
        for value in values:
            middle = io.BytesIO()
            fastavro.schemaless_writer(middle, alone, {field_name: value})
            encoded.append(shared_head + middle.getvalue() + shared_tail)
        return encoded

    def decode(self, subject: str, data: bytes | None) -> dict:
        """Framed bytes → record in the subject's current shape; DecodeError subclasses otherwise."""
        schema_id, body = wire.unframe(data)
        writer, reader = self._pair(subject, schema_id)
        stream = io.BytesIO(body)
        try:
            record = fastavro.schemaless_reader(stream, writer, reader)
        except SchemaResolutionError as error:
            raise exceptions.SchemaNotReadable(str(error)) from None
        except _BAD_BODY as error:
            raise exceptions.MalformedAvro(f"not valid Avro for schema id {schema_id}: {error!r}") from None
        if stream.tell() != len(body):
            raise exceptions.MalformedAvro(f"{len(body) - stream.tell()} bytes left after the record")
        return record

    def subject_of(self, data: bytes | None) -> str:
        """The record type the framed bytes were written as."""
        schema_id, _ = wire.unframe(data)
        return contract_schemas.full_name(self.registry.schema_for(schema_id))

    def _writer(self, subject: str) -> tuple[bytes, dict]:
        if subject not in self._writers:
            schema_id = self.registry.id_for(subject)
            parsed = contract_schemas.parse(self.registry.schema_for(schema_id))
            self._writers[subject] = (wire.frame(schema_id, b""), parsed)
        return self._writers[subject]

    def _split(self, subject: str, field_name: str) -> tuple[dict, dict, dict]:
        if (subject, field_name) not in self._splits:
            raw = self.registry.schema_for(self.registry.id_for(subject))
            names = [f["name"] for f in raw["fields"]]
            at = names.index(field_name)
            parts = (raw["fields"][:at], raw["fields"][at:at + 1], raw["fields"][at + 1:])
            self._splits[(subject, field_name)] = tuple(
                contract_schemas.parse({**raw, "fields": fields}) for fields in parts)
        return self._splits[(subject, field_name)]

    def _pair(self, subject: str, schema_id: int) -> tuple[dict, dict | None]:
        key = (subject, schema_id)
        if key not in self._pairs:
            raw = self.registry.schema_for(schema_id)
            if contract_schemas.full_name(raw) != subject:
                raise exceptions.SchemaNotReadable(
                    f"schema id {schema_id} is {contract_schemas.full_name(raw)}, expected {subject}")
            reader_raw = contract_schemas.current()[subject]
            same = contract_schemas.canonical(raw) == contract_schemas.canonical(reader_raw)
            reader = None if same else contract_schemas.parse(reader_raw)
            self._pairs[key] = (contract_schemas.parse(raw), reader)
        return self._pairs[key]


def from_url(schema_registry_url: str | None) -> Codec:
    """A codec on the registry at that URL (no authentication), or on the pinned ids without one."""
    return Codec(registry=contract_registry.from_url(schema_registry_url))


def from_settings(settings) -> Codec:
    """A codec on the settings' registry: its URL, basic auth and CA file (streams/settings.py)."""
    return Codec(registry=contract_registry.from_settings(settings))
