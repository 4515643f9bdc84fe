"""Deterministic event ids: the same input always yields the same id, so consumers can de-duplicate.

Ids are RFC 4122 version-5 UUIDs (SHA-1 of a namespace and a name), built without uuid.UUID objects because
every event needs one.
"""

import hashlib
import uuid

NAMESPACE = uuid.UUID("6f1b7f9e-2d1c-5c36-9a39-5e4b8c2a7d10")
_PREFIX = NAMESPACE.bytes


def uuid5(name: str) -> str:
    """The same text as str(uuid.uuid5(NAMESPACE, name))."""
    digest = bytearray(hashlib.sha1(_PREFIX + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    text = digest.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def for_request(*, request_id: str, kind: str) -> str:
    """Id of the `kind` event (routed, rejected, ...) about one request."""
    return uuid5(f"{request_id}/{kind}")


def for_input(*, topic: str, partition: int, offset: int, kind: str) -> str:
    """Id of an event about one input record (for input without a usable request id)."""
    return uuid5(f"{topic}/{partition}/{offset}/{kind}")
