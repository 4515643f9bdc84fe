"""POST requests: the spec's form fields → a ServiceRequestSubmitted record, checked with the pipeline's own
validation before anything is sent, and the answer once the read model shows what became of it."""

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone

import structlog

from civicflow.services.api import params
from civicflow.services.api.exceptions import BadRequest
from civicflow.services.api.keys import ApiKey
from civicflow.services.sdk import exceptions as sdk_exceptions
from civicflow.services.sdk import requests as sdk_requests
from civicflow.streams.events import clock as events_clock
from civicflow.streams.jurisdiction.conditions import Facts
from civicflow.streams.open311 import fields as open311_fields
from civicflow.streams.sla import policy as sla_policy
from civicflow.streams.validation import checks as validation_checks

log = structlog.get_logger(__name__)

_ATTRIBUTE = re.compile(r"attribute\[([^\[\]]+)\](\[\])?")
_CONSEQUENCES_OF_BAD_NUMBERS = frozenset({"location_missing", "location_incomplete"})
_PLACEHOLDER_CODE = "-"


def collect(pairs: list[tuple[str, str]], *, allowed: tuple[str, ...],
            problems: list[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """({field: value}, {attribute code: [values]}) of the form; blank values count as not given. A field given
    twice, an unknown field and a malformed attribute name are problems."""
    fields: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for name, value in pairs:
        if name.startswith("attribute"):
            match = _ATTRIBUTE.fullmatch(name)
            if match is None:
                problems.append(f"{params.echo(name)} is not an attribute field: use attribute[code] "
                                "(attribute[code][] for each value of a multivaluelist)")
            elif value.strip():
                attributes.setdefault(match.group(1), []).append(value)
            continue
        if name not in allowed:
            problems.append(f"unknown field {params.echo(name)}")
        elif name in fields:
            problems.append(f"{name} is given more than once")
        elif value.strip():
            fields[name] = value
    return fields, attributes


def build(fields: Mapping[str, str], attributes: dict[str, list[str]], *, key: ApiKey, jurisdictions: Mapping,
          now: datetime, problems: list[str]) -> dict | None:
    """The submission record, or None when anything is wrong (every problem is added to `problems`): the shape
    of the fields, then every rule the intake pipeline checks (validate)."""
    shape_problems = len(problems)
    jurisdiction_id = fields.get("jurisdiction_id")
    if jurisdiction_id is None and len(jurisdictions) == 1:
        jurisdiction_id = next(iter(jurisdictions))
    elif jurisdiction_id is None:
        problems.append(f"jurisdiction_id is required (one of {', '.join(sorted(jurisdictions))})")
    service_code = fields.get("service_code")
    if service_code is None:
        problems.append("service_code is required")
    lat = params.number("lat", fields.get("lat"), problems=problems)
    lon = params.number("long", fields.get("long"), problems=problems)
    bad_numbers = ("lat" in fields and lat is None) or ("long" in fields and lon is None)
    if jurisdiction_id is None:
        return None
    request = {name: fields[name] for name in open311_fields.REQUEST_FIELDS
               if name in fields and name not in ("lat", "long")}
    request.update(jurisdiction_id=jurisdiction_id, service_code=service_code or _PLACEHOLDER_CODE,
                   channel=key.channel, lat=lat, long=lon, attribute=attributes)
    try:
        record = sdk_requests.to_record(request, now=now)
    except sdk_exceptions.SubmissionError as error:
        problems.extend(str(error).split("; "))
        return None
    for reason in validation_checks.validate(submission=record, jurisdictions=jurisdictions,
                                             key=sdk_requests.partition_key(record), now=now):
        if service_code is None and reason.code == "unknown_service_code":
            continue
        if bad_numbers and reason.code in _CONSEQUENCES_OF_BAD_NUMBERS:
            continue
        problems.append(describe(reason.code, reason.message))
    return record if len(problems) == shape_problems else None


def describe(code: str | None, message: str) -> str:
    """An error description for one of the platform's rejection reasons."""
    return f"{code}: {message}" if code else message


def expected_at(row: Mapping, *, record: Mapping, jurisdiction) -> datetime | None:
    """When an accepted request is expected to be resolved: the read model's expected_at once the lifecycle has
    set it, else the resolve target of the SLA policy that matches the routed request (an estimate)."""
    if row["expected_at"] is not None or row["open311_status"] != "open" or row["duplicate_of"]:
        return row["expected_at"] if row["open311_status"] == "open" else None
    if jurisdiction is None:
        return None
    try:
        service = jurisdiction.services.get(row["service_code"])
        facts = Facts(service_code=row["service_code"],
                      service_group=service.group if service is not None else row["service_group"],
                      attributes=record["attributes"], description=record["description"],
                      districts=json.loads(row["districts"] or "{}"), priority=row["priority"])
        _, goals = jurisdiction.sla.goals_for(facts)
        submitted_ms = events_clock.to_ms(record["submitted_at"])
        due_in_ms = events_clock.to_ms(record["due_at"]) - submitted_ms if record.get("due_at") else None
        expected_ms = sla_policy.expected_resolve_ms({g.name: g for g in goals}, submitted_ms=submitted_ms,
                                                     due_in_ms=due_in_ms)
        if expected_ms is not None:
            return datetime.fromtimestamp(expected_ms / 1000, tz=timezone.utc)
    except Exception:  # an estimate only: the answer goes out without it
        log.warning("expected_time_estimate_failed", request_id=row["request_id"], exc_info=True)
    return None


def rejection(row: Mapping, reasons: list[dict]) -> BadRequest:
    """The pipeline's rejection as the spec's 400 answer, one error per reason."""
    descriptions = [describe(r["code"], r["message"]) for r in reasons]
    return BadRequest(*(descriptions or [row["status_notes"] or "the request was not accepted"]))
