"""POST servicerequestupdates (FixMyStreet's extension): an agency's status update → a StatusUpdate record."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.api import params
from services.api.exceptions import Forbidden
from services.api.keys import ApiKey
from services.sdk import exceptions as sdk_exceptions
from services.sdk import updates as sdk_updates

# FixMyStreet's statuses → the platform's update statuses (the platform's own names are taken as they are).
FMS_STATUSES = {"FIXED": "resolved", "CLOSED": "closed", "IN_PROGRESS": "in_progress",
                "ACTION_SCHEDULED": "in_progress", "INVESTIGATING": "in_progress", "OPEN": "reopened"}
FIELDS = ("jurisdiction_id", "service_request_id", "status", "updated_datetime", "description", "update_id",
          "media_url", "agency", "to_agency", "duplicate_of")
# FixMyStreet also posts who wrote the update: accepted, never read or forwarded.
IGNORED = ("email", "first_name", "last_name", "phone", "title", "account_id", "service_code", "device_id",
           "public_anonymity_required", "email_alerts_requested", "service_request_id_ext", "nsg_ref")
FUTURE_TOLERANCE = timedelta(minutes=5)


def agency_of(key: ApiKey, fields: Mapping[str, str]) -> str:
    """The sender: the key's agency. Keys without an agency, and an `agency` field naming another, are refused."""
    if key.agency is None:
        raise Forbidden("this api_key may not send status updates: it is not an agency's key")
    claimed = fields.get("agency")
    if claimed is not None and claimed != key.agency:
        raise Forbidden(f"this api_key sends updates for {key.agency}, not for {params.echo(claimed)}")
    return key.agency


def platform_status(value: str | None, *, problems: list[str]) -> str | None:
    if value is None:
        problems.append("status is required")
        return None
    text = value.strip()
    if text.upper() in FMS_STATUSES:
        return FMS_STATUSES[text.upper()]
    if text.lower() in sdk_updates.STATUSES:
        return text.lower()
    problems.append(f"status {params.echo(value)} is not one of {', '.join(sdk_updates.STATUSES)} "
                    f"or FixMyStreet's {', '.join(FMS_STATUSES)}")
    return None


def build(fields: Mapping[str, str], *, request_row: Mapping, agency: str, zone: ZoneInfo, now: datetime,
          problems: list[str]) -> dict | None:
    """The StatusUpdate record, or None with every problem added to `problems`."""
    before = len(problems)
    if request_row["status"] == "rejected":
        problems.append(f"service request {request_row['request_id']} was not accepted: it takes no updates")
    status = platform_status(fields.get("status"), problems=problems)
    occurred_at = params.moment("updated_datetime", fields.get("updated_datetime"), zone=zone,
                                problems=problems) or now
    if occurred_at > now + FUTURE_TOLERANCE:
        problems.append(f"updated_datetime {fields['updated_datetime']!r} lies in the future")
    if len(problems) > before:
        return None
    try:
        return sdk_updates.update_record(
            request_id=request_row["request_id"], status=status, agency=agency,
            jurisdiction_id=request_row["jurisdiction_id"], occurred_at=occurred_at,
            note=fields.get("description"), to_agency=fields.get("to_agency"),
            duplicate_of=fields.get("duplicate_of"), external_id=request_row["external_id"],
            update_id=fields.get("update_id"))
    except sdk_exceptions.SubmissionError as error:
        problems.extend(str(error).split("; "))
        return None
