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
    "text_html": "a free-text field other than the description (address, names, ids, a text attribute's answer) "
                 "contains HTML markup",
    "text_too_long": "a free-text field other than the description is longer than 1,000 characters (a text "
                     "attribute's answer: 4,000)",
    "text_control_characters": "a text field contains control characters (NUL and the other C0 controls but tab "
                               "and line breaks, DEL)",
    "submitted_at_in_future": "submitted_at lies further ahead of the platform's clock than the allowed skew "
                              "(CIVICFLOW_CLOCK_SKEW_S, 5 minutes)",
    "submitted_at_too_old": "submitted_at lies further back than the horizon (CIVICFLOW_TIME_HORIZON_DAYS, 30 days); "
                            "imports of history are exempt",
    "due_before_submission": "due_at is not after submitted_at",
    "due_at_too_far": "due_at lies more than 5 years after submitted_at",
    "duplicate_submission": "the idempotency key was used within 24 hours; original_request_id names the request",
}

# Refusals of an agency update's time (streams/validation/checks.update_time), beside the lifecycle's own
# (streams/lifecycle/machine.REFUSAL_CODES lists them all).
UPDATE_REASON_CODES = {
    "update_in_future": "occurred_at lies further ahead of the platform's clock than the allowed skew",
    "update_before_submission": "occurred_at is before the request's submitted_at (live updates)",
    "update_before_last_update": "occurred_at is before the request's last accepted update (live updates)",
    "update_too_old": "occurred_at lies further back than CIVICFLOW_UPDATE_MAX_AGE_H (24 hours; live updates)",
}
