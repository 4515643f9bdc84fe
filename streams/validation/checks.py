"""Validate a decoded submission: every failing rule is reported, not just the first. The bounds on an agency
update's time are here too (`update_time`), shared by the lifecycle agent and the Open311 API."""

import math
from collections.abc import Mapping
from datetime import datetime

from civicflow.streams.validation import attributes as validation_attributes
from civicflow.streams.validation import bounds as validation_bounds
from civicflow.streams.validation import text as validation_text
from civicflow.streams.validation.bounds import Bounds
from civicflow.streams.validation.models import Reason

# Free-text fields of a submission besides the description (which has its own codes): plain text, bounded.
FREE_TEXT = ("address_string", "address_id", "first_name", "last_name", "email", "phone", "device_id", "account_id",
             "external_id", "idempotency_key")
# Attribute datatypes whose answers are free text, with their length limits (text: several lines, as a description).
_TEXT_DATATYPES = {"string": validation_text.MAX_TEXT, "text": validation_text.MAX_DESCRIPTION}


def expected_key(submission: Mapping) -> bytes:
    """The intake key the contract asks for: related requests share a partition."""
    return f"{submission['jurisdiction_id']}:{submission['service_code']}".encode()


def validate(*, submission: Mapping, jurisdictions: Mapping, key: bytes | None, now: datetime,
             bounds: Bounds | None = None) -> list[Reason]:
    """The reasons to reject the submission; empty when it is acceptable. `bounds` default to the settings'."""
    bounds = bounds or validation_bounds.current()
    reasons = _envelope(submission, key, now, bounds) + _text(submission)
    jurisdiction = jurisdictions.get(submission["jurisdiction_id"])
    if jurisdiction is None:
        known = ", ".join(sorted(jurisdictions))
        return reasons + [Reason("unknown_jurisdiction", f"unknown jurisdiction_id "
                                 f"{submission['jurisdiction_id']!r}; known: {known}", "jurisdiction_id")]
    service = jurisdiction.services.get(submission["service_code"])
    reasons += _location(submission, jurisdiction, required=service is None or service.location_required)
    if service is None:
        reasons.append(Reason("unknown_service_code", f"service_code {submission['service_code']!r} is not in "
                              f"the {jurisdiction.id} catalog", "service_code"))
    else:
        reasons += validation_attributes.check(service=service, answers=submission["attributes"])
        reasons += _free_text_answers(service, submission["attributes"])
    return reasons


def update_time(*, occurred_at: datetime, submitted_at: datetime | None, last_update_at: datetime | None,
                now: datetime, live: bool = True, bounds: Bounds | None = None) -> list[Reason]:
    """The reasons an agency update's time cannot be accepted: it may not lie ahead of the clock (beyond the
    skew), before the request's submission or its last accepted update, nor, for a live update, further back
    than the bounds' update_max_age. Replays (live=False) import recorded history: only the future is refused."""
    bounds = bounds or validation_bounds.current()
    reasons = []
    if occurred_at > bounds.latest(now):
        reasons.append(Reason("update_in_future", f"occurred_at {occurred_at.isoformat()} is ahead of the "
                              f"platform clock {now.isoformat()}", "occurred_at"))
    if not live:
        return reasons
    if submitted_at is not None and occurred_at < submitted_at:
        reasons.append(Reason("update_before_submission", f"occurred_at {occurred_at.isoformat()} is before the "
                              f"request was submitted ({submitted_at.isoformat()})", "occurred_at"))
    elif last_update_at is not None and occurred_at < last_update_at:
        reasons.append(Reason("update_before_last_update", f"occurred_at {occurred_at.isoformat()} is before the "
                              f"request's last accepted update ({last_update_at.isoformat()})", "occurred_at"))
    if occurred_at < bounds.oldest_update(now):
        reasons.append(Reason("update_too_old", f"occurred_at {occurred_at.isoformat()} is more than "
                              f"{_span(bounds.update_max_age)} before the platform clock {now.isoformat()}",
                              "occurred_at"))
    return reasons


def _envelope(submission: Mapping, key: bytes | None, now: datetime, bounds: Bounds) -> list[Reason]:
    reasons = []
    if not submission["request_id"].strip():
        reasons.append(Reason("request_id_missing", "request_id is empty", "request_id"))
    if key != expected_key(submission):
        reasons.append(Reason("partition_key_mismatch", f"record key must be {expected_key(submission)!r} "
                              f"(jurisdiction_id:service_code), got {key!r}", None))
    submitted_at = submission["submitted_at"]
    if submitted_at > bounds.latest(now):
        reasons.append(Reason("submitted_at_in_future", f"submitted_at {submitted_at.isoformat()} "
                              f"is ahead of the platform clock {now.isoformat()}", "submitted_at"))
    elif submitted_at < bounds.earliest(now) and submission.get("import_record") is None:  # imports: history
        reasons.append(Reason("submitted_at_too_old", f"submitted_at {submitted_at.isoformat()} is more than "
                              f"{_span(bounds.horizon)} before the platform clock {now.isoformat()}",
                              "submitted_at"))
    due = submission["due_at"]
    if due is not None and due <= submitted_at:
        reasons.append(Reason("due_before_submission", f"due_at {due.isoformat()} is not after submitted_at",
                              "due_at"))
    elif due is not None and due - submitted_at > validation_bounds.MAX_DUE_AHEAD:
        reasons.append(Reason("due_at_too_far", f"due_at {due.isoformat()} is more than "
                              f"{_span(validation_bounds.MAX_DUE_AHEAD)} after submitted_at", "due_at"))
    return reasons


def _span(span) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"


def _text(submission: Mapping) -> list[Reason]:
    reasons = []
    description = submission["description"]
    if description is not None and len(description) > validation_text.MAX_DESCRIPTION:
        reasons.append(Reason("description_too_long", f"description has {len(description)} characters, at most "
                              f"{validation_text.MAX_DESCRIPTION} are allowed", "description"))
    if description is not None and validation_text.has_html(description):
        reasons.append(Reason("description_html", "description must be plain text, it contains HTML markup",
                              "description"))
    media_url = submission["media_url"]
    if media_url is not None and not validation_text.is_media_url(media_url):
        reasons.append(Reason("media_url_invalid", f"media_url must be an http(s) URL, got {media_url[:200]!r}",
                              "media_url"))
    language = submission["language"]
    if language is not None and not validation_text.is_language_tag(language):
        reasons.append(Reason("language_invalid", f"language {language[:50]!r} is not a BCP 47 tag", "language"))
    for name in ("description", *FREE_TEXT, "media_url", "language"):
        value = submission.get(name)
        if value is not None and validation_text.has_control_characters(value):
            reasons.append(Reason("text_control_characters", f"{name} contains control characters", name))
    for name in FREE_TEXT:  # never echoed: several of them are personal data
        reasons += _plain_text(name, submission.get(name))
    return reasons


def _plain_text(where: str, value: str | None, limit: int = validation_text.MAX_TEXT) -> list[Reason]:
    if value is None:
        return []
    reasons = []
    if len(value) > limit:
        reasons.append(Reason("text_too_long", f"{where} has {len(value)} characters, at most {limit} are allowed",
                              where))
    if validation_text.has_html(value):
        reasons.append(Reason("text_html", f"{where} must be plain text, it contains HTML markup", where))
    return reasons


def _free_text_answers(service, answers: Mapping) -> list[Reason]:
    """Answers to a service's string and text attributes are free text: plain and bounded like the others."""
    reasons = []
    for attribute in service.attributes:
        if attribute.variable and attribute.datatype in _TEXT_DATATYPES:
            for value in answers.get(attribute.code, ()):
                reasons += _plain_text(f"attributes.{attribute.code}", value, _TEXT_DATATYPES[attribute.datatype])
    for code, values in answers.items():
        if any(validation_text.has_control_characters(v) for v in values):
            reasons.append(Reason("text_control_characters", f"attributes.{code} contains control characters",
                                  f"attributes.{code}"))
    return reasons


def _location(submission: Mapping, jurisdiction, *, required: bool) -> list[Reason]:
    lat, lon = submission["lat"], submission["long"]
    if lat is None and lon is None:
        if submission["address_string"] or submission["address_id"] or not required:
            return []
        return [Reason("location_missing", "give lat and long, address_string or address_id", "lat")]
    if lat is None or lon is None:
        missing = "long" if lon is None else "lat"
        return [Reason("location_incomplete", f"{missing} is missing: lat and long go together", missing)]
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return [Reason("location_invalid", f"lat {lat} / long {lon} is not a WGS84 coordinate", "lat")]
    if not jurisdiction.geography.contains(lat=lat, lon=lon):
        return [Reason("location_outside_jurisdiction", f"point {lat}, {lon} lies outside {jurisdiction.name}",
                       "lat")]
    return []
