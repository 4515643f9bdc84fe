"""Which agency updates are legal from which status, and where they lead.

Statuses: triage (no agency yet), open, acknowledged, in_progress, on_hold, resolved, closed.
"""

from dataclasses import dataclass

from civicflow.streams.open311 import statuses as open311_statuses
from civicflow.streams.validation.models import UPDATE_REASON_CODES

REFUSAL_CODES = ("unknown_request", "illegal_transition", "not_owner", "to_agency_missing", "to_agency_invalid",
                 "duplicate_of_missing", *UPDATE_REASON_CODES)  # the last: an update's time (validation.checks)
ACTIVE = frozenset({"open", "acknowledged", "in_progress", "on_hold"})
TRIAGE_AGENCY = "TRIAGE"

# update status -> (statuses it may come from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledged": (frozenset({"open"}), "acknowledged"),
    "in_progress": (frozenset({"open", "acknowledged", "on_hold"}), "in_progress"),
    "on_hold": (frozenset({"open", "acknowledged", "in_progress"}), "on_hold"),
    "resolved": (ACTIVE, "resolved"),
    "closed": (ACTIVE | {"resolved", "triage"}, "closed"),
    "reopened": (frozenset({"resolved", "closed"}), "open"),
    "transferred": (ACTIVE | {"triage"}, "open"),
    "duplicate": (ACTIVE | {"triage"}, "closed"),
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an update cannot be applied: a reason code and a message."""

    code: str
    message: str
    field: str | None = None


def check(*, status: str, owner: str | None, update: dict, agencies) -> Refusal | None:
    """None when the update may be applied to a request in `status` owned by `owner`, else why not."""
    sender = update["agency"]
    expected_owner = owner or TRIAGE_AGENCY
    if sender != expected_owner:
        return Refusal("not_owner", f"agency {sender} does not own request {update['request_id']} "
                       f"(owner: {expected_owner})", "agency")
    allowed, _ = TRANSITIONS[update["status"]]
    if status not in allowed:
        hint = " without reopening it" if status in open311_statuses.CLOSED else ""
        return Refusal("illegal_transition", f"a request that is {status} cannot become {update['status']}{hint}",
                       "status")
    if update["status"] == "transferred":
        target = update["to_agency"]
        if not target:
            return Refusal("to_agency_missing", "a transfer names the agency that takes over", "to_agency")
        if target not in agencies or target == owner:
            return Refusal("to_agency_invalid", f"cannot transfer to {target!r}: not another agency of the "
                           "jurisdiction", "to_agency")
    if update["status"] == "duplicate" and not update["duplicate_of"]:
        return Refusal("duplicate_of_missing", "a duplicate names the request it duplicates", "duplicate_of")
    return None


def next_status(update_status: str) -> str:
    """The status a legal update leads to."""
    return TRANSITIONS[update_status][1]
