"""Rows for the read model (as the projection writes them), and shape comparisons with recorded responses."""

import json
import uuid
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from civicflow.services.readmodel.schema import events, requests
from civicflow.streams.settings import REPO_ROOT

FIXTURES = REPO_ROOT.parent / "shared" / "data" / "open311-fixtures"
BASE = "/open311/v2"
W3C = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$"
CONTACT_FIELDS = {"email", "phone", "first_name", "last_name", "device_id", "account_id"}
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]


def now() -> datetime:
    return datetime.now(timezone.utc)


def request_row(**overrides) -> dict:
    """An open NYPD noise request at Times Square, routed an hour ago."""
    moment = now()
    row = dict(request_id=str(uuid.uuid4()), jurisdiction_id="nyc", external_id=None,
               service_code="noise-residential", service_name="Noise - Residential", service_group="Noise",
               status="open", open311_status="open", status_notes=None, agency="NYPD", queue="general",
               channel="web", language="en", priority="normal", description="Party next door",
               lat=40.758, long=-73.9855, address="Times Square", address_id=None, zipcode="10036",
               media_url=None, districts=json.dumps({"borough": "Manhattan"}), duplicate_of=None,
               rejection_reasons=None, requested_at=moment - timedelta(hours=1),
               updated_at=moment - timedelta(minutes=30), expected_at=moment + timedelta(hours=7), closed_at=None,
               last_event_at=None, routed=True)
    row.update(overrides)
    return row


def rejected_row(**overrides) -> dict:
    reasons = [{"code": "location_outside_jurisdiction", "message": "point 39.95, -75.16 lies outside New York City",
                "field": "lat"}, {"code": "description_html", "message": "description must be plain text",
                                  "field": "description"}]
    values = dict(status="rejected", open311_status="closed", agency=None, routed=False, expected_at=None,
                  status_notes="Not accepted: " + "; ".join(r["message"] for r in reasons),
                  rejection_reasons=json.dumps(reasons))
    values.update(overrides)
    return request_row(**values)


def event_row(request_id: str, **overrides) -> dict:
    row = dict(event_id=str(uuid.uuid4()), request_id=request_id, kind="transition", status="in_progress",
               open311_status="open", agency="NYPD", note="Officers on the way", goal=None,
               occurred_at=now() - timedelta(minutes=10), recorded_at=now())
    row.update(overrides)
    return row


def insert(engine, *, requests_rows=(), events_rows=()) -> None:
    """Rows as the projection writes them: times in UTC."""
    with engine.begin() as conn:
        for row in requests_rows:
            conn.execute(requests.insert().values(**_in_utc(row)))
        for row in events_rows:
            conn.execute(events.insert().values(**_in_utc(row)))


def _in_utc(row: dict) -> dict:
    return {k: v.astimezone(timezone.utc) if isinstance(v, datetime) else v for k, v in row.items()}


def fixture_xml(relative: str) -> ET.Element:
    return ET.fromstring((FIXTURES / relative).read_bytes())


def fixture_json(relative: str):
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


def xml_shape(root: ET.Element) -> dict[str, set[str]]:
    """{element path: the names of its children} over the whole document (repeated elements merged)."""
    shape: dict[str, set[str]] = defaultdict(set)

    def walk(element: ET.Element, path: str) -> None:
        here = f"{path}/{element.tag}"
        shape[here]  # noqa: B018 - a leaf still has a (empty) entry
        for child in element:
            shape[here].add(child.tag)
            walk(child, here)

    walk(root, "")
    return dict(shape)


def json_shape(document) -> dict[str, set[str]]:
    """{path: keys} of every object in a JSON document; list items share their list's path + '[]'."""
    shape: dict[str, set[str]] = defaultdict(set)

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            shape[path] |= set(value)
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{path}[]")

    walk(document, "$")
    return dict(shape)


def errors_of(response) -> list[dict]:
    """The spec's error list of a response in either format, as [{code, description}] (code an int)."""
    if response.headers["content-type"].startswith("application/json"):
        return response.json()
    root = ET.fromstring(response.content)
    assert root.tag == "errors"
    return [{"code": int(e.findtext("code")), "description": e.findtext("description")} for e in root]


def descriptions(response) -> str:
    return " | ".join(e["description"] for e in errors_of(response))
