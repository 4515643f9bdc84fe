"""Output records of the pipeline, shaped as the Avro contracts in schemas/."""

import functools

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.events import clock as event_clock
from civicflow.streams.events import ids

CONTACT_FIELDS = ("email", "phone", "first_name", "last_name", "device_id", "account_id")
_DETAIL_FIELDS = ("channel", "language", "submitted_at", "lat", "long", "address_string", "address_id",
                  "attributes", "description", "media_url", "due_at", "external_id")


def rejected(*, submission: dict, reasons: list, now_ms: int, source: tuple[str, int, int],
             original_request_id: str | None = None) -> dict:
    """A RequestRejected record carrying every reason and the original submission (its times as the
    contract's milliseconds, which encode faster than datetimes)."""
    if submission["request_id"]:
        event_id = ids.for_request(request_id=submission["request_id"], kind="rejected")
    else:
        event_id = ids.for_input(topic=source[0], partition=source[1], offset=source[2], kind="rejected")
    return {
        "event_id": event_id,
        "request_id": submission["request_id"],
        "jurisdiction_id": submission["jurisdiction_id"],
        "rejected_at": now_ms,
        "reasons": [{"code": r.code, "message": r.message, "field": r.field} for r in reasons],
        "original_request_id": original_request_id,
        "submission": {**submission, "submitted_at": contract_codec.millis(submission["submitted_at"]),
                       "due_at": contract_codec.millis(submission["due_at"])},
    }


def routed(*, submission: dict, service, enrichment: dict, routing: dict, now_ms: int,
           warnings: list = ()) -> dict:
    """A RequestRouted record with contact details (the pipeline writes agencies' copies without them); its
    times are the contract's milliseconds, which encode faster than datetimes."""
    details = {"service_code": submission["service_code"], "service_name": service.service_name,
               "service_group": service.group}  # the contract's order, as consumers decode it
    for name in _DETAIL_FIELDS:
        details[name] = submission[name]
    details["submitted_at"] = contract_codec.millis(submission["submitted_at"])
    details["due_at"] = contract_codec.millis(submission["due_at"])
    contact = {name: submission[name] for name in CONTACT_FIELDS}
    return {
        "event_id": ids.for_request(request_id=submission["request_id"], kind="routed"),
        "request_id": submission["request_id"],
        "jurisdiction_id": submission["jurisdiction_id"],
        "routed_at": now_ms,
        "request": details,
        "contact": contact if any(contact.values()) else None,
        "enrichment": enrichment,
        "routing": routing,
        "warnings": [{"code": w.code, "message": w.message, "field": w.field} for w in warnings],
    }


def submission_as_read(record: dict) -> dict:
    """A submission record as the intake decodes it from Avro: the contract's fields in its order, its times at
    the contract's millisecond precision."""
    read = {name: record[name] for name in _submission_fields()}
    for name in ("submitted_at", "due_at"):
        moment = read[name]
        if moment is not None and moment.microsecond % 1000:
            read[name] = moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)
    return read


def routed_as_read(record: dict) -> dict:
    """A routed record as its topic's consumers decode it from Avro: its times (epoch milliseconds here) as
    aware datetimes."""
    request = record["request"]
    due_at = request["due_at"]
    return {**record, "routed_at": event_clock.from_ms(record["routed_at"]),
            "request": {**request, "submitted_at": event_clock.from_ms(request["submitted_at"]),
                        "due_at": None if due_at is None else event_clock.from_ms(due_at)}}


@functools.cache
def _submission_fields() -> tuple[str, ...]:
    return tuple(f["name"] for f in contract_schemas.current()[contract_schemas.SUBMITTED]["fields"])
