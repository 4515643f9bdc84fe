"""A record a stage emits."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Emit:
    """One record to send."""

    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None  # None: the producer's partitioner chooses by key
