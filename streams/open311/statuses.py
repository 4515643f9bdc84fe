"""Open311's statuses and the platform's: GeoReport v2 knows open and closed; FixMyStreet's update statuses
extend them; the platform's own (triage, open, acknowledged, in_progress, on_hold, resolved, closed) are what the
lifecycle keeps."""

CLOSED = frozenset({"resolved", "closed"})  # the platform's statuses that are closed in GeoReport v2

# Platform status after an accepted update → FixMyStreet's update status (its extension of OPEN/CLOSED).
FMS_STATUS = {"triage": "OPEN", "open": "OPEN", "acknowledged": "INVESTIGATING", "in_progress": "IN_PROGRESS",
              "on_hold": "ACTION_SCHEDULED", "resolved": "FIXED", "closed": "CLOSED"}
# FixMyStreet's statuses → the platform's update statuses (the platform's own names are taken as they are).
FMS_UPDATE_STATUS = {"FIXED": "resolved", "CLOSED": "closed", "IN_PROGRESS": "in_progress",
                     "ACTION_SCHEDULED": "in_progress", "INVESTIGATING": "in_progress", "OPEN": "reopened"}
# A platform status in words, for a request's history.
WORDS = {"triage": "In triage", "open": "Open", "acknowledged": "Acknowledged", "in_progress": "In progress",
         "on_hold": "On hold", "resolved": "Resolved", "closed": "Closed"}


def open311_status(status: str) -> str:
    """GeoReport v2 knows open and closed only: resolved and closed requests are closed."""
    return "closed" if status in CLOSED else "open"
