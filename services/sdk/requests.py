"""Open311-style request dicts (as frontends write them) → ServiceRequestSubmitted records."""

import uuid
from datetime import datetime, timezone

from civicflow.services.sdk.exceptions import SubmissionError
from civicflow.streams.validation import bounds as validation_bounds

CHANNELS = ("web", "mobile", "phone", "walk_in", "email", "social", "kiosk", "api", "other")
_TEXT = ("idempotency_key", "language", "address_string", "address_id", "description", "media_url", "email",
         "phone", "first_name", "last_name", "device_id", "account_id", "external_id")
_KNOWN = frozenset(_TEXT) | {"request_id", "jurisdiction_id", "service_code", "channel", "submitted_at", "lat",
                             "long", "attribute", "attributes", "due_at", "expected_datetime", "import_record"}


def to_record(request: dict, *, default_jurisdiction: str | None = None, now: datetime | None = None) -> dict:
    """A submission record; raises SubmissionError listing every problem of the request's shape."""
    problems = [f"unknown field {name!r}" for name in request if name not in _KNOWN]
    record = {name: _text(request, name, problems) for name in _TEXT}
    record["request_id"] = _text(request, "request_id", problems) or str(uuid.uuid4())
    record["jurisdiction_id"] = _text(request, "jurisdiction_id", problems) or default_jurisdiction
    record["service_code"] = _text(request, "service_code", problems)
    for name in ("jurisdiction_id", "service_code"):
        if not record[name]:
            problems.append(f"{name} is required")
    record["channel"] = request.get("channel") or "other"
    if record["channel"] not in CHANNELS:
        problems.append(f"channel {record['channel']!r} is not one of {', '.join(CHANNELS)}")
    record["submitted_at"] = _moment(request.get("submitted_at"), "submitted_at", problems) or now or _utc_now()
    record["due_at"] = _moment(request.get("due_at") or request.get("expected_datetime"), "due_at", problems)
    record["lat"] = _number(request.get("lat"), "lat", problems)
    record["long"] = _number(request.get("long"), "long", problems)
    record["attributes"] = _attributes(request.get("attributes", request.get("attribute")), problems)
    record["import_record"] = _import_record(request.get("import_record"), problems)
    if problems:
        raise SubmissionError("; ".join(problems))
    return record


def _import_record(value, problems: list) -> dict | None:
    """Only imports of recorded history (`civicflow replay`) set it: {agency, service_name, districts, warnings}."""
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append("import_record must be an object")
        return None
    record = {"agency": value.get("agency"), "service_name": value.get("service_name"),
              "districts": dict(value.get("districts") or {}), "warnings": list(value.get("warnings") or [])}
    unknown = set(value) - set(record)
    if unknown:
        problems.append(f"import_record has unknown fields {sorted(unknown)}")
    return record


def partition_key(record: dict) -> bytes:
    """Intake key: jurisdiction and service, so idempotency and duplicate checks see related requests together."""
    return f"{record['jurisdiction_id']}:{record['service_code']}".encode()


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _text(request: dict, name: str, problems: list) -> str | None:
    value = request.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    problems.append(f"{name} must be text, got {type(value).__name__}")
    return None


def _number(value, name: str, problems: list) -> float | None:
    """A JSON number as it is (validation refuses NaN and infinities), or a decimal number in ASCII digits as
    text: float() would also read '４０.７', 'nan' and '1e999'."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    parsed = validation_bounds.parse_number(value) if isinstance(value, str) else None
    if parsed is None:
        problems.append(f"{name} must be a number (finite, decimal, ASCII digits), got {str(value)[:40]!r}")
    return parsed


def _moment(value, name: str, problems: list) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError, OSError):
        problems.append(f"{name} must be ISO 8601 or epoch milliseconds, got {value!r}")
        return None
    if moment.tzinfo is None:
        problems.append(f"{name} {value!r} has no UTC offset")
        return None
    return moment.astimezone(timezone.utc)


def _attributes(value, problems: list) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append("attributes must be an object of code → value(s)")
        return {}
    out = {}
    for code, answer in value.items():
        answers = answer if isinstance(answer, list) else [answer]
        out[str(code)] = [str(a) for a in answers if a is not None]
    return out
