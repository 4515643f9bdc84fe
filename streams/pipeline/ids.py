"""Deterministic event ids: the same input always yields the same id, so consumers can de-duplicate."""

import uuid

NAMESPACE = uuid.UUID("6f1b7f9e-2d1c-5c36-9a39-5e4b8c2a7d10")


def for_request(*, request_id: str, kind: str) -> str:
    """Id of the `kind` event (routed, rejected, ...) about one request."""
    return str(uuid.uuid5(NAMESPACE, f"{request_id}/{kind}"))


def for_input(*, topic: str, partition: int, offset: int, kind: str) -> str:
    """Id of an event about one input record (for input without a usable request id)."""
    return str(uuid.uuid5(NAMESPACE, f"{topic}/{partition}/{offset}/{kind}"))
