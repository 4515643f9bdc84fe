"""Records shaped as the platform writes them, passed through the codec (encode, then decode) so that they
have exactly the types the projection sees: enums as str, timestamp-millis as aware UTC datetimes."""

from datetime import datetime, timedelta, timezone

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.events import ids
from tests import factories

CODEC = contract_codec.from_url(None)
T0 = datetime(2024, 3, 1, 14, 30, tzinfo=timezone.utc)
JURISDICTION = "nyc"

CONTACT = {"email": "jane.doe@example.org", "phone": "+1 212 555 0147", "first_name": "Janeforename",
           "last_name": "Doesurname", "device_id": "device-7f3a9c", "account_id": "account-51d2e8"}
CATALOG = {(JURISDICTION, "pothole"): ("Pothole", "Streets & Sidewalks"),
           (JURISDICTION, "noise-residential"): ("Noise - Residential", "Noise")}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def roundtrip(subject: str, record: dict) -> dict:
    value = CODEC.encode(subject, record)
    assert CODEC.subject_of(value) == subject
    return CODEC.decode(subject, value)


def routed(request_id: str = "req-1", *, outcome: str = "routed", agency: str | None = "DOT",
           duplicate_of: str | None = None, submitted: float = 0, contact: dict | None = CONTACT) -> dict:
    return roundtrip(contract_schemas.ROUTED, factories.routed(
        event_id=ids.for_request(request_id=request_id, kind="routed"), request_id=request_id,
        jurisdiction_id=JURISDICTION, routed_at=at(submitted + 0.01),
        request={"service_code": "pothole", "service_name": "Pothole", "service_group": "Streets & Sidewalks",
                 "channel": "mobile", "language": "en-US", "submitted_at": at(submitted),
                 "lat": 40.7128, "long": -74.006, "address_string": "1 Centre St, New York, NY",
                 "address_id": "1001210001", "attributes": {"size": ["large"]},
                 "description": "Deep pothole in the right lane", "media_url": "https://example.org/p.jpg",
                 "external_id": f"ext-{request_id}"},
        contact=contact,
        enrichment={"districts": {"borough": "Manhattan", "community_district": "101"}, "priority": "high",
                    "priority_rule": "large-potholes", "duplicate_of": duplicate_of},
        routing={"outcome": outcome, "agency": agency, "queue": "potholes" if agency else None,
                 "rule": "no_match" if outcome == "triage" else "potholes-to-dot",
                 "topic": "requests.triage" if outcome == "triage" else "work.nyc.dot"}))


def update(request_id: str, status: str, minutes: float, *, agency: str = "DOT", note: str | None = None,
           to_agency: str | None = None, duplicate_of: str | None = None) -> dict:
    return factories.update(status, occurred_at=at(minutes), update_id=f"{request_id}-{status}-{minutes}",
                            request_id=request_id, jurisdiction_id=JURISDICTION, agency=agency, note=note,
                            to_agency=to_agency, duplicate_of=duplicate_of)


def lifecycle(request_id: str, kind: str, minutes: float, *, status: str, agency: str | None = "DOT",
              upd: dict | None = None, goal: str | None = None, expected: float | None = 60 * 24,
              previous_status: str | None = None, cycle: int = 0, name: str | None = None) -> dict:
    open311 = "closed" if status in ("resolved", "closed") else "open"
    expected_at = None if expected is None else at(expected)
    return roundtrip(contract_schemas.LIFECYCLE, {
        "event_id": ids.uuid5(f"{request_id}/lifecycle/{name or (kind, minutes, status, goal)}"),
        "request_id": request_id, "jurisdiction_id": JURISDICTION, "external_id": f"ext-{request_id}",
        "kind": kind, "occurred_at": at(minutes), "agency": agency, "status": status, "open311_status": open311,
        "previous_status": previous_status, "update": upd, "cycle": cycle, "goal": goal,
        "threshold": 0.5 if kind == "sla_warning" else (1.0 if kind in ("sla_breached", "escalation") else None),
        "deadlines": {} if expected_at is None else {"resolve": expected_at},
        "expected_at": expected_at, "service_code": "pothole", "channel": "mobile", "priority": "high",
        "districts": {"borough": "Manhattan", "community_district": "101"},
    })


def transition(request_id: str, status: str, minutes: float, *, to: str | None = None, note: str | None = None,
               previous: str | None = None, agency: str = "DOT", owner: str | None = None,
               expected: float | None = 60 * 24, name: str | None = None, **update_fields) -> dict:
    """A transition event for an accepted `status` update (sent by `agency`) leading to `to` (default: the same
    status) and leaving the request with `owner` (default: the sender)."""
    return lifecycle(request_id, "transition", minutes, status=to or status, previous_status=previous,
                     agency=owner or agency, expected=expected, name=name,
                     upd=update(request_id, status, minutes, agency=agency, note=note, **update_fields))


def submission(request_id: str = "req-bad", *, service_code: str = "pothole", minutes: float = 0) -> dict:
    return factories.submission(request_id=request_id, idempotency_key="idem-1", jurisdiction_id=JURISDICTION,
                                service_code=service_code, language="es", submitted_at=at(minutes), lat=41.9,
                                long=-70.1, address_string="Somewhere off the coast", attributes={},
                                description="Water main break", **CONTACT, external_id=f"ext-{request_id}")


REASONS = [{"code": "location_outside_jurisdiction", "message": "the location is outside New York City",
            "field": "lat"},
           {"code": "attribute_missing", "message": "attribute size is required", "field": "attributes.size"}]


def rejected_submission(request_id: str = "req-bad", *, minutes: float = 0, reasons: list | None = None,
                        **fields) -> dict:
    return roundtrip(contract_schemas.REJECTED, {
        "event_id": ids.for_request(request_id=request_id, kind="rejected"),
        "request_id": request_id, "jurisdiction_id": JURISDICTION, "rejected_at": at(minutes + 0.01),
        "reasons": REASONS if reasons is None else reasons, "original_request_id": None,
        "submission": submission(request_id, minutes=minutes, **fields), "update": None,
    })


def rejected_update(request_id: str, status: str, minutes: float, *, agency: str = "DSNY") -> dict:
    upd = update(request_id, status, minutes, agency=agency, note="we fixed it")
    return roundtrip(contract_schemas.REJECTED, {
        "event_id": ids.uuid5(f"{request_id}/update-rejected/{upd['update_id']}"),
        "request_id": request_id, "jurisdiction_id": JURISDICTION, "rejected_at": at(minutes + 0.01),
        "reasons": [{"code": "not_owner", "message": f"agency {agency} does not own request {request_id} "
                     "(owner: DOT)", "field": "agency"}],
        "original_request_id": None, "submission": None, "update": upd,
    })
