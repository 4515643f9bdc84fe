"""A transferred request as new work for the agency that takes it over: its routed record re-addressed to the new
agency's work topic, without contact details.

The lifecycle state holds most of that record already (service, channel, language, times, districts,
priority). The rest, what the agency needs to do the work (service name, location, the citizen's text and
answers, media, the priority rule, the duplicate link, import warnings), is kept with the state when the
request is routed (`details`), as one compact JSON array: a worker may hold a million open requests, and only a
few are ever transferred. Pure: a record or a state in, a record out.
"""

from datetime import datetime

import orjson

from civicflow.streams.events import ids
from civicflow.streams.lifecycle import models as lifecycle_models
from civicflow.streams.lifecycle.models import RequestState

TRANSFER_RULE = "transfer"
_REQUEST = ("service_name", "lat", "long", "address_string", "address_id", "attributes", "description", "media_url")
_ENRICHMENT = ("priority_rule", "duplicate_of")


def details(record: dict) -> bytes:
    """What a routed record's work order needs beyond the lifecycle state, as JSON array bytes (trailing nulls
    and an empty warnings list left out)."""
    request, enrichment = record["request"], record["enrichment"]
    values = [request[name] for name in _REQUEST] + [enrichment[name] for name in _ENRICHMENT]
    values.append(record.get("warnings") or None)
    while values and values[-1] is None:
        values.pop()
    return lifecycle_models.json_bytes(values)


def work_order(*, request_id: str, state: RequestState, update_id: str, topic: str, now: datetime,
               service_name: str | None = None) -> dict:
    """The RequestRouted record of the request as the new agency's work (state.agency, on `topic`). A state kept
    before details were (no `work`) gives the fields it holds; `service_name` (from the catalog) and the
    service code stand in for the name, and location and text are left empty."""
    values = orjson.loads(state.work) if state.work else []
    kept = dict(zip(_REQUEST + _ENRICHMENT + ("warnings",), values))
    request = {name: kept.get(name) for name in _REQUEST}
    request.update(service_name=kept.get("service_name") or service_name or state.service_code,
                   attributes=kept.get("attributes") or {}, service_code=state.service_code,
                   service_group=state.service_group, channel=state.channel, language=state.language,
                   submitted_at=state.submitted_at,
                   due_at=state.submitted_at + state.due_override if state.due_override else None,
                   external_id=state.external_id)
    return {
        "event_id": ids.uuid5(f"{request_id}/transfer/{update_id}"),
        "request_id": request_id,
        "jurisdiction_id": state.jurisdiction_id,
        "routed_at": now,
        "request": request,
        "contact": None,
        "enrichment": {"districts": dict(state.districts), "priority": state.priority,
                       "priority_rule": kept.get("priority_rule") or "default",
                       "duplicate_of": kept.get("duplicate_of")},
        "routing": {"outcome": "routed", "agency": state.agency, "queue": "transfers", "rule": TRANSFER_RULE,
                    "topic": topic},
        "warnings": kept.get("warnings") or [],
    }
