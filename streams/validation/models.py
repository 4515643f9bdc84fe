"""A rejection reason, and the catalogue of every reason code the platform uses (the README lists it)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reason:
    """One failed rule: a machine-readable code, an English message and the field it is about."""

    code: str
    message: str
    field: str | None = None


REASON_CODES = {
    "request_id_missing": "the request_id is empty",
    "partition_key_mismatch": "the record's key is not '<jurisdiction_id>:<service_code>'",
    "unknown_jurisdiction": "no jurisdiction has this jurisdiction_id",
    "unknown_service_code": "the service_code is not in the jurisdiction's catalog",
    "attribute_missing": "a required attribute has no answer",
    "attribute_unknown": "an answer for an attribute the service does not ask for",
    "attribute_multiple_values": "several answers for an attribute that takes one",
    "attribute_wrong_type": "an answer that is not of the attribute's datatype (number, datetime)",
    "attribute_not_allowed": "a list answer that is not one of the attribute's value keys",
    "location_missing": "neither lat and long, nor address_string, nor address_id",
    "location_incomplete": "lat without long, or long without lat",
    "location_invalid": "lat or long out of range or not a number",
    "location_outside_jurisdiction": "the point lies outside the jurisdiction's boundary",
    "description_too_long": "description longer than 4,000 characters",
    "description_html": "description contains HTML markup",
    "media_url_invalid": "media_url is not an absolute http(s) URL",
    "language_invalid": "language is not a BCP 47 tag",
    "submitted_at_in_future": "submitted_at lies more than 5 minutes ahead of the platform's clock",
    "due_before_submission": "due_at is not after submitted_at",
    "duplicate_submission": "the idempotency key was used within 24 hours; original_request_id names the request",
}
