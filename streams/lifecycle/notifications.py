"""Which citizen notifications a lifecycle event owes, and their CitizenNotification records. Pure: a request's
state and the event in, the notifications out; the processor sends them (when notifications are on)."""

from civicflow.streams.events import clock as event_clock
from civicflow.streams.events import ids
from civicflow.streams.lifecycle.models import RequestState
from civicflow.streams.notifications import models as notifications_models
from civicflow.streams.notifications import templates as notifications_templates
from civicflow.streams.sla import policy as sla_policy


def owed(state: RequestState, kind: str, *, update_status: str | None = None, goal: str | None = None,
         resolve_goal: sla_policy.Goal | None = None) -> list[tuple[str, int | None]]:
    """The notifications a lifecycle event of `kind` owes the citizen, with the expected time each states.
    `update_status` is a transition's update status, `goal` an SLA event's goal, `resolve_goal` the request's
    resolve goal (what a breach apology's new expected time is counted on)."""
    resolve = state.goals.get(sla_policy.RESOLVE)
    expected = resolve.deadline if resolve is not None and resolve.running else None
    if kind == "opened":
        return [("received", expected)] + ([("routed", expected)] if state.agency else [])
    if kind == "transition":
        if update_status == "transferred":
            return [("routed", expected)]
        return [(state.status, expected)] if state.status in notifications_models.KINDS else []
    if kind == "sla_breached" and goal == sla_policy.RESOLVE and resolve is not None:
        later = resolve_goal.clock.add(resolve.settled_at, resolve_goal.target_ms // 2) if resolve_goal else None
        return [("breach_apology", later)]
    return []


def notification(*, request_id: str, state: RequestState, kind: str, at_ms: int, event_name: str,
                 expected_ms: int | None, note: str | None, spec) -> dict | None:
    """The CitizenNotification of one owed notification, or None when the jurisdiction has no notification
    `spec` or the citizen left no way to be reached."""
    channel, address = reach(state.contact)
    if spec is None or channel is None:
        return None
    return {"event_id": ids.uuid5(f"{request_id}/notification/{event_name}/{kind}"), "request_id": request_id,
            "jurisdiction_id": state.jurisdiction_id, "kind": kind,
            "language": notifications_templates.language_for(spec=spec, wanted=state.language),
            "channel": channel, "address": address, "first_name": state.contact[2],
            "occurred_at": event_clock.from_ms(at_ms), "service_code": state.service_code, "agency": state.agency,
            "status_notes": note, "expected_at": event_clock.from_ms(expected_ms) if expected_ms else None,
            "external_id": state.external_id}


def reach(contact: tuple | None) -> tuple[str | None, str | None]:
    """(channel, address): email first, then a phone by SMS, then the device by push."""
    if not contact:
        return None, None
    email, phone, _, device = contact
    for channel, address in (("email", email), ("sms", phone), ("push", device)):
        if address:
            return channel, address
    return None, None
