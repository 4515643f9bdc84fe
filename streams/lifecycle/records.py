"""LifecycleEvent and update-rejection records, shaped as the Avro contracts in schemas/."""

from datetime import datetime

from civicflow.streams.events import clock as event_clock
from civicflow.streams.events import ids
from civicflow.streams.lifecycle.models import RequestState
from civicflow.streams.open311 import statuses as open311_statuses
from civicflow.streams.sla import policy as sla_policy


def lifecycle(*, request_id: str, state: RequestState, kind: str, occurred_ms: int, event_name: str,
              previous_status: str | None = None, update: dict | None = None, goal: str | None = None,
              threshold: float | None = None) -> dict:
    """A LifecycleEvent about the request as it stands in `state` after the event."""
    deadlines = {name: event_clock.from_ms(g.deadline) for name, g in state.goals.items()
                 if g.running and g.deadline is not None}
    return {
        "event_id": ids.uuid5(f"{request_id}/lifecycle/{event_name}"),
        "request_id": request_id,
        "jurisdiction_id": state.jurisdiction_id,
        "external_id": state.external_id,
        "kind": kind,
        "occurred_at": event_clock.from_ms(occurred_ms),
        "agency": state.agency,
        "status": state.status,
        "open311_status": open311_statuses.open311_status(state.status),
        "previous_status": previous_status,
        "update": update,
        "cycle": state.cycle,
        "goal": goal,
        "threshold": threshold,
        "deadlines": deadlines,
        "expected_at": deadlines.get(sla_policy.RESOLVE),
        "service_code": state.service_code,
        "channel": state.channel,
        "priority": state.priority,
        "districts": dict(state.districts or {}),
    }


def update_rejected(*, update: dict, refusal, now: datetime) -> dict:
    """A RequestRejected record for an agency update."""
    return {
        "event_id": ids.uuid5(f"{update['request_id']}/update-rejected/{update['update_id']}"),
        "request_id": update["request_id"],
        "jurisdiction_id": update["jurisdiction_id"],
        "rejected_at": now,
        "reasons": [{"code": refusal.code, "message": refusal.message, "field": refusal.field}],
        "original_request_id": None,
        "submission": None,
        "update": update,
    }
