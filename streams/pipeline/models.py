"""What processing one intake record produces."""

from dataclasses import dataclass, field

from civicflow.streams.events.models import Emit


@dataclass(slots=True)
class Outcome:
    """Where one input ended: routed, duplicate, triage, rejected or dead_lettered, and what to send."""

    kind: str
    emits: list[Emit]
    request_id: str | None = None
    reasons: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds spent per stage: validate, enrich, route
