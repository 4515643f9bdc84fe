"""POST servicerequestupdates (FixMyStreet's extension): an agency's status update → a StatusUpdate record.

What the read model knows is checked before anything is sent, with the lifecycle's own rules (the owner, the
transition, the bounds on the update's time): 403 for an agency that does not own the request, 404 for a request
that does not exist, 400 for the rest. Only a request the read model cannot know yet (not projected) gets its
update sent with a token to poll for the lifecycle's decision (`token_of`, `outcome`).
"""

import base64
import json
import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from civicflow.services.api import params
from civicflow.services.api.exceptions import ApiError, BadRequest, Forbidden, NotFound
from civicflow.services.api.keys import ApiKey
from civicflow.services.readmodel import times as readmodel_times
from civicflow.services.readmodel.schema import events
from civicflow.services.sdk import exceptions as sdk_exceptions
from civicflow.services.sdk import updates as sdk_updates
from civicflow.streams.events import ids
from civicflow.streams.lifecycle import machine
from civicflow.streams.open311 import statuses as open311_statuses
from civicflow.streams.validation import checks as validation_checks

TOKEN_PREFIX = "update-"
# The read model keeps a refused update's messages, not its codes: the lifecycle's messages of the two refusals
# that are not 400s.
_REFUSED_AS = ((re.compile(r"agency \S+ does not own request"), Forbidden),
               (re.compile(r"no routed request \S+ arrived within"), NotFound))


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
    if text.upper() in open311_statuses.FMS_UPDATE_STATUS:
        return open311_statuses.FMS_UPDATE_STATUS[text.upper()]
    if text.lower() in sdk_updates.STATUSES:
        return text.lower()
    problems.append(f"status {params.echo(value)} is not one of {', '.join(sdk_updates.STATUSES)} "
                    f"or FixMyStreet's {', '.join(open311_statuses.FMS_UPDATE_STATUS)}")
    return None


def build(fields: Mapping[str, str], *, request_id: str, jurisdiction_id: str, external_id: str | None, agency: str,
          zone: ZoneInfo, now: datetime, problems: list[str]) -> dict | None:
    """The StatusUpdate record, or None with every problem of its shape added to `problems`."""
    before = len(problems)
    status = platform_status(fields.get("status"), problems=problems)
    occurred_at = params.moment("updated_datetime", fields.get("updated_datetime"), zone=zone,
                                problems=problems) or now
    if len(problems) > before:
        return None
    try:
        return sdk_updates.update_record(
            request_id=request_id, status=status, agency=agency, jurisdiction_id=jurisdiction_id,
            occurred_at=occurred_at, note=fields.get("description"), to_agency=fields.get("to_agency"),
            duplicate_of=fields.get("duplicate_of"), external_id=external_id, update_id=fields.get("update_id"))
    except sdk_exceptions.SubmissionError as error:
        problems.extend(str(error).split("; "))
        return None


def check(record: Mapping, *, row: Mapping, last_update_at: datetime | None, agencies, now: datetime) -> None:
    """What the read model knows, checked with the lifecycle's rules: raises Forbidden (not the owner), NotFound
    (no accepted request) or BadRequest (the transition, a transfer or duplicate without its target, the time)."""
    if row["status"] == "rejected":
        raise NotFound(f"service request {row['request_id']} was not accepted: it takes no updates")
    refusal = machine.check(status=row["status"], owner=row["agency"], update=record, agencies=agencies)
    if refusal is not None and refusal.code == "not_owner":
        raise Forbidden(_describe(refusal.code, refusal.message))
    problems = [_describe(refusal.code, refusal.message)] if refusal is not None else []
    problems += [_describe(r.code, r.message) for r in validation_checks.update_time(
        occurred_at=record["occurred_at"], submitted_at=row["requested_at"], last_update_at=last_update_at, now=now)]
    if problems:
        raise BadRequest(*problems)


def future_problems(record: Mapping, *, now: datetime) -> list[str]:
    """For a request the read model does not know yet: only what needs no request (a time ahead of the clock)."""
    return [_describe(r.code, r.message) for r in validation_checks.update_time(
        occurred_at=record["occurred_at"], submitted_at=None, last_update_at=None, now=now)]


def _describe(code: str, message: str) -> str:
    return f"{code}: {message}"


def last_update_at(conn: Connection, request_id: str) -> datetime | None:
    """When the request's last accepted agency update happened (its newest transition in the read model)."""
    found = conn.execute(sa.select(sa.func.max(events.c.occurred_at))
                         .where(events.c.request_id == request_id, events.c.kind == "transition")).scalar()
    return readmodel_times.utc(found)


# ---- tokens: the lifecycle's decision on an update -------------------------------------------------------------

def token_of(record: Mapping) -> str:
    """An opaque token naming the update (request id and update id), for GET tokens/{token}."""
    raw = json.dumps([record["request_id"], record["update_id"]], separators=(",", ":")).encode("utf-8")
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def parse_token(token: str) -> tuple[str, str] | None:
    """(request id, update id) of an update's token; None for any other token (a request's)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    body = token[len(TOKEN_PREFIX):]
    try:
        request_id, update_id = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        return None
    return (request_id, update_id) if isinstance(request_id, str) and isinstance(update_id, str) else None


def outcome(conn: Connection, request_id: str, update_id: str) -> dict | None:
    """The lifecycle's decision as the read model shows it: {"outcome": "accepted", "status"} or {"outcome":
    "refused", "error": ApiError}; None while it has not decided (or the projection has not shown it yet)."""
    accepted = ids.uuid5(f"{request_id}/lifecycle/update/{update_id}")
    refused = ids.uuid5(f"{request_id}/update-rejected/{update_id}")
    rows = conn.execute(sa.select(events.c.event_id, events.c.status, events.c.note)
                        .where(events.c.event_id.in_([accepted, refused]))).mappings().all()
    by_id = {row["event_id"]: row for row in rows}
    if accepted in by_id:
        return {"outcome": "accepted", "status": by_id[accepted]["status"]}
    if refused in by_id:
        return {"outcome": "refused", "error": refusal_error(by_id[refused]["note"] or "")}
    return None


def refusal_error(summary: str) -> ApiError:
    """The lifecycle's refusal (the read model's summary "Not accepted: message; ...") as the API's error."""
    messages = [m for m in summary.removeprefix("Not accepted: ").split("; ") if m] or ["the update was refused"]
    for pattern, error in _REFUSED_AS:
        if any(pattern.search(m) for m in messages):
            return error(*messages)
    return BadRequest(*messages)
