"""Records shaped as the Avro contracts, for any test: a submission, a routed record and an agency's update.

Each factory returns a complete, valid record (NYC) and takes overrides for any field; the routed record's
nested parts (request, contact, enrichment, routing) take overrides of their own fields. Times are whatever the
caller passes (datetimes, or epoch milliseconds where the lifecycle works in them).
"""

from datetime import datetime, timedelta, timezone

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
NO_CONTACT = {"email": None, "phone": None, "first_name": None, "last_name": None, "device_id": None,
              "account_id": None}


def submission(**overrides) -> dict:
    """A valid ServiceRequestSubmitted: a missing stop sign at Times Square, a minute before NOW, no contact."""
    record = {"request_id": "r-1", "idempotency_key": None, "jurisdiction_id": "nyc",
              "service_code": "street-sign-missing", "channel": "web", "language": "en",
              "submitted_at": NOW - timedelta(minutes=1), "lat": 40.7580, "long": -73.9855, "address_string": None,
              "address_id": None, "attributes": {"descriptor": ["stop"]}, "description": "The stop sign is gone",
              "media_url": None, **NO_CONTACT, "due_at": None, "external_id": None}
    record.update(overrides)
    return record


def routed(*, request: dict | None = None, contact: dict | None = None, enrichment: dict | None = None,
           routing: dict | None = None, **overrides) -> dict:
    """A RequestRouted of a residential noise complaint in Manhattan routed to the NYPD, submitted at NOW;
    `request`, `enrichment` and `routing` update their parts, `contact` replaces the (absent) contact."""
    submitted = overrides.get("routed_at", NOW)
    record = {
        "event_id": "e", "request_id": "r-1", "jurisdiction_id": "nyc", "routed_at": submitted,
        "request": {"service_code": "noise-residential", "service_name": "Noise - Residential",
                    "service_group": "Noise", "channel": "web", "language": "en", "submitted_at": submitted,
                    "lat": 40.7, "long": -73.9, "address_string": None, "address_id": None, "attributes": {},
                    "description": None, "media_url": None, "due_at": None, "external_id": "x-1",
                    **(request or {})},
        "contact": contact,
        "enrichment": {"districts": {"borough": "Manhattan"}, "priority": "normal", "priority_rule": "default",
                       "duplicate_of": None, **(enrichment or {})},
        "routing": {"outcome": "routed", "agency": "NYPD", "queue": "general", "rule": "nypd",
                    "topic": "work.nyc.nypd", **(routing or {})},
    }
    record.update(overrides)
    return record


def update(status: str, *, occurred_at=0, **overrides) -> dict:
    """A StatusUpdate of request r-1 by the DOT to `status`, with no note, transfer or duplicate."""
    record = {"update_id": f"{status}-{occurred_at}", "request_id": "r-1", "jurisdiction_id": "nyc", "agency": "DOT",
              "status": status, "occurred_at": occurred_at, "note": None, "to_agency": None, "duplicate_of": None,
              "external_id": None}
    record.update(overrides)
    return record
