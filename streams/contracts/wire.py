"""Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body."""

import struct

from civicflow.streams.contracts import exceptions

MAGIC = 0
_HEADER = struct.Struct(">bI")
HEADER_SIZE = _HEADER.size


def frame(schema_id: int, body: bytes) -> bytes:
    """Prefix an Avro body with the wire-format header."""
    return _HEADER.pack(MAGIC, schema_id) + body


def unframe(data: bytes | None) -> tuple[int, memoryview]:
    """Split framed bytes into (schema id, Avro body); refuse what is not our format."""
    if not data:
        raise exceptions.EmptyMessage("message has no value bytes")
    if data[0] != MAGIC:
        raise exceptions.UnknownMagicByte(f"first byte is {data[0]}, expected magic byte {MAGIC}")
    if len(data) < HEADER_SIZE:
        raise exceptions.TruncatedHeader(f"{len(data)} bytes, the header alone needs {HEADER_SIZE}")
    _, schema_id = _HEADER.unpack_from(data)
    return schema_id, memoryview(data)[HEADER_SIZE:]
