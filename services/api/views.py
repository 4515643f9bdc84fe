"""GeoReport v2 documents built from the catalog and from read-model rows (plain data; streams/open311/formats.py
renders them).

Field names and order follow the spec and the real cities' responses. Contact details are never shown: the read
model holds none, and nothing here reads a submission.
"""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from civicflow.streams.jurisdiction.models import Service
from civicflow.streams.open311 import statuses as open311_statuses
from civicflow.streams.open311.formats import local, w3c

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


class Jurisdictions:
    """The loaded jurisdictions ({id: Jurisdiction}) as the views need them: time zones and agency names."""

    def __init__(self, jurisdictions: Mapping) -> None:
        self.by_id = dict(jurisdictions)
        self._zones = {jid: ZoneInfo(j.time_zone) for jid, j in self.by_id.items()}
        self._utc = ZoneInfo("UTC")

    def zone(self, jurisdiction_id: str | None) -> ZoneInfo:
        return self._zones.get(jurisdiction_id, self._utc)

    def agency_name(self, jurisdiction_id: str | None, agency: str | None) -> str | None:
        jurisdiction = self.by_id.get(jurisdiction_id)
        if agency is None or jurisdiction is None:
            return agency
        found = jurisdiction.agency_names.get(agency)
        return found.name if found is not None else agency


def discovery(*, url: str, changeset: datetime, zone: ZoneInfo, names: Sequence[str]) -> dict:
    """Service discovery (as Washington DC and Boston publish it)."""
    stamp = w3c(changeset, zone)
    return {
        "changeset": stamp,
        "contact": f"{', '.join(names)} 311: this endpoint is run by the city's 311 service.",
        "key_service": "API keys for posting requests are issued by the city's 311 operators.",
        "endpoints": [{"specification": SPECIFICATION, "url": url, "changeset": stamp, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }


def service(item: Service) -> dict:
    """One entry of GET services."""
    return {"service_code": item.service_code, "service_name": item.service_name,
            "description": item.description, "metadata": item.metadata, "type": item.type,
            "keywords": ", ".join(item.keywords), "group": item.group}


def service_definition(item: Service) -> dict:
    """GET services/{service_code}: the attributes in their order."""
    return {"service_code": item.service_code, "attributes": [
        {"variable": a.variable, "code": a.code, "datatype": a.datatype, "required": a.required,
         "datatype_description": a.datatype_description, "order": a.order, "description": a.description,
         "values": [{"key": v.key, "name": v.name} for v in a.values]}
        for a in sorted(item.attributes, key=lambda a: (a.order, a.code))]}


def service_notice(row: Mapping, *, names: Jurisdictions, expected: datetime | None = None) -> str | None:
    """A short text naming the agency and when the request is expected to be dealt with."""
    if row["status"] == "rejected":
        return None
    jid = row["jurisdiction_id"]
    agency = names.agency_name(jid, row["agency"])
    jurisdiction = names.by_id.get(jid)
    if row["duplicate_of"]:
        text = f"Linked to request {row['duplicate_of']}, which is already being handled"
        text += f" by {agency}." if agency else "."
    elif row["status"] == "triage" or not agency:
        city = jurisdiction.name if jurisdiction is not None else "the city"
        text = f"Received by {city} 311, which will assign it to the agency responsible."
    elif row["open311_status"] == "closed":
        text = f"Handled by {agency}."
    else:
        text = f"Sent to {agency}."
    expected = expected or row["expected_at"]
    if expected is not None and row["open311_status"] == "open" and not row["duplicate_of"]:
        when = local(expected, names.zone(jid))
        text += f" Expected by {when.strftime('%a %d %b %Y, %H:%M %Z')}."
    return text


def service_request(row: Mapping, *, names: Jurisdictions, events: Sequence[Mapping] | None = None,
                    extensions: bool = False) -> dict:
    """One request of GET requests / requests/{id}; with extensions, its channel and its history (notes)."""
    zone = names.zone(row["jurisdiction_id"])
    out = {
        "service_request_id": row["request_id"],
        "status": row["open311_status"],
        "status_notes": row["status_notes"],
        "service_name": row["service_name"] or _catalog_name(row, names),
        "service_code": row["service_code"],
        "description": row["description"],
        "agency_responsible": names.agency_name(row["jurisdiction_id"], row["agency"]),
        "service_notice": service_notice(row, names=names),
        "requested_datetime": w3c(row["requested_at"], zone),
        "updated_datetime": w3c(row["updated_at"], zone),
        "expected_datetime": w3c(row["expected_at"], zone),
        "address": row["address"],
        "address_id": row["address_id"],
        "zipcode": row["zipcode"],
        "lat": row["lat"],
        "long": row["long"],
        "media_url": row["media_url"],
    }
    if extensions:
        out["extended_attributes"] = {"channel": row["channel"], "duplicate_of": row["duplicate_of"]}
        out["notes"] = notes(row, events or (), names=names)
    return out


def notes(row: Mapping, events: Sequence[Mapping], *, names: Jurisdictions) -> list[dict]:
    """The request's history (Chicago's `notes` extension): opened, each accepted agency update, and the reasons
    a submission was not accepted. SLA bookkeeping and refused agency updates are internal and left out."""
    jid = row["jurisdiction_id"]
    zone = names.zone(jid)
    out = []
    opened = any(e["kind"] == "opened" for e in events)
    for event in events:
        kind, agency = event["kind"], names.agency_name(jid, event["agency"])
        if kind == "opened" or (kind == "routed" and not opened):
            summary = f"Opened for {agency}" if agency else "Received; waiting in triage for an agency"
            out.append(_note(event["occurred_at"], "opened", summary, event["status"], None, zone))
        elif kind == "transition":
            kind_name = "closed" if event["open311_status"] == "closed" else "activity"
            summary = open311_statuses.WORDS.get(event["status"], event["status"] or "Updated")
            summary += f" ({agency})" if agency else ""
            out.append(_note(event["occurred_at"], kind_name, summary, event["status"], event["note"], zone))
    for reason in rejection_reasons(row):
        out.append(_note(row["updated_at"], "rejected", reason["code"] or "rejected", "rejected",
                         reason["message"], zone))
    return out


def rejection_reasons(row: Mapping) -> list[dict]:
    """The reasons a rejected submission was not accepted ([{code, message, field}]); none for other rows."""
    if row["status"] != "rejected":
        return []
    try:
        reasons = json.loads(row["rejection_reasons"] or "[]")
        return [{"code": r.get("code"), "message": r.get("message") or "", "field": r.get("field")}
                for r in reasons if isinstance(r, dict)]
    except (ValueError, TypeError, AttributeError):
        return [{"code": None, "message": row["status_notes"] or "not accepted", "field": None}]


def update(event: Mapping, *, names: Jurisdictions) -> dict:
    """One request_update of FixMyStreet's GET servicerequestupdates."""
    return {"update_id": event["event_id"], "service_request_id": event["request_id"],
            "status": open311_statuses.FMS_STATUS.get(event["status"], "OPEN"),
            "updated_datetime": w3c(event["occurred_at"], names.zone(event["jurisdiction_id"])),
            "description": event["note"] or "", "media_url": None}


def _note(at: datetime | None, kind: str, summary: str, status: str | None, description: str | None,
          zone: ZoneInfo) -> dict:
    return {"datetime": w3c(at, zone), "type": kind, "summary": summary, "status": status,
            "description": description}


def _catalog_name(row: Mapping, names: Jurisdictions) -> str | None:
    jurisdiction = names.by_id.get(row["jurisdiction_id"])
    found = jurisdiction.services.get(row["service_code"]) if jurisdiction is not None else None
    return found.service_name if found is not None else None
