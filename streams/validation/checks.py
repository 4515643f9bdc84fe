"""Validate a decoded submission: every failing rule is reported, not just the first."""

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from streams.validation import attributes as validation_attributes
from streams.validation import text as validation_text
from streams.validation.models import Reason

FUTURE_TOLERANCE = timedelta(minutes=5)


def expected_key(submission: Mapping) -> bytes:
    """The intake key the contract asks for: related requests share a partition."""
    return f"{submission['jurisdiction_id']}:{submission['service_code']}".encode()


def validate(*, submission: Mapping, jurisdictions: Mapping, key: bytes | None, now: datetime) -> list[Reason]:
    """The reasons to reject the submission; empty when it is acceptable."""
    reasons = _envelope(submission, key, now) + _text(submission)
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
    return reasons


def _envelope(submission: Mapping, key: bytes | None, now: datetime) -> list[Reason]:
    reasons = []
    if not submission["request_id"].strip():
        reasons.append(Reason("request_id_missing", "request_id is empty", "request_id"))
    if key != expected_key(submission):
        reasons.append(Reason("partition_key_mismatch", f"record key must be {expected_key(submission)!r} "
                              f"(jurisdiction_id:service_code), got {key!r}", None))
    if submission["submitted_at"] > now + FUTURE_TOLERANCE:
        reasons.append(Reason("submitted_at_in_future", f"submitted_at {submission['submitted_at'].isoformat()} "
                              f"is ahead of the platform clock {now.isoformat()}", "submitted_at"))
    due = submission["due_at"]
    if due is not None and due <= submission["submitted_at"]:
        reasons.append(Reason("due_before_submission", f"due_at {due.isoformat()} is not after submitted_at",
                              "due_at"))
    return reasons


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
