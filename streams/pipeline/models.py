"""What the intake pipeline reads and what processing one intake record produces."""

from dataclasses import dataclass, field
from typing import NamedTuple

from civicflow.streams.events.models import Emit


class Source(NamedTuple):
    """Where an input was read: its topic, partition and offset."""

    topic: str
    partition: int
    offset: int


class Input(NamedTuple):
    """One intake record as read: its raw key and value, and where it was read."""

    key: bytes | None
    value: bytes | None
    source: Source


@dataclass(slots=True)
class Decision:
    """What the intake decision made of one decoded submission.

    kind: routed, triage or duplicate (`record` is a RequestRouted record, its topic in record["routing"]) or
    rejected (`record` is a RequestRejected record); `reasons` are the rejection's codes.
    """

    kind: str
    request_id: str | None
    record: dict
    reasons: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Outcome:
    """Where one input ended: routed, duplicate, triage, rejected or dead_lettered, and what to send."""

    kind: str
    emits: list[Emit]
    request_id: str | None = None
    reasons: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds spent per stage: validate, enrich, route
    decision: Decision | None = None  # until its record is encoded into `emits` (Pipeline.encode)
