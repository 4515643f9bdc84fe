"""Imports of recorded history: a row the city's own system accepted is imported as recorded.

Live intake refuses what breaks a rule; an import (a submission with `import_record`, written only by
`civicflow replay`) keeps the request and turns each such reason into a warning kept on it, adjusting the
submission where the reason says a value cannot be used. Only what makes a request unaddressable stays fatal.
"""

from collections.abc import Mapping

from civicflow.streams.validation import text as validation_text
from civicflow.streams.validation.models import Reason

# No request can be formed, or the producer is broken: refused for imports as for live intake.
FATAL = frozenset({"request_id_missing", "partition_key_mismatch", "unknown_jurisdiction"})

_LOCATION = frozenset({"location_missing", "location_incomplete", "location_invalid",
                       "location_outside_jurisdiction"})

# reason code → the fields an import clears because their value cannot be used
_CLEARS = {"due_before_submission": ("due_at",), "description_html": ("description",),
           "media_url_invalid": ("media_url",), "language_invalid": ("language",)}


# reason codes about one free-text field (named by the reason): an import drops that field's value
_CLEARS_ITS_FIELD = frozenset({"text_html", "text_control_characters", "text_too_long"})


def is_import(submission: Mapping) -> bool:
    return submission.get("import_record") is not None


def as_recorded(*, submission: dict, reasons: list[Reason]) -> tuple[list[Reason], list[Reason], dict]:
    """(fatal reasons, warnings, the submission as it is imported) for an import's validation reasons."""
    fatal = [r for r in reasons if r.code in FATAL]
    warnings = list(_recorded_warnings(submission)) + [r for r in reasons if r.code not in FATAL]
    changes: dict = {}
    for reason in reasons:
        if reason.code in _LOCATION:
            changes.update(lat=None, long=None)
        for name in _CLEARS.get(reason.code, ()):
            changes[name] = None
        if reason.code == "description_too_long":
            changes["description"] = submission["description"][:validation_text.MAX_DESCRIPTION]
        if reason.code in _CLEARS_ITS_FIELD and reason.field in submission and reason.field not in changes:
            changes[reason.field] = None  # markup or control characters (a NUL breaks PostgreSQL's text)
    return fatal, warnings, ({**submission, **changes} if changes else submission)


def _recorded_warnings(submission: Mapping):
    for warning in submission["import_record"]["warnings"]:
        yield Reason(warning["code"], warning["message"], warning.get("field"))


def recorded_districts(*, submission: Mapping, layers) -> dict[str, str]:
    """The export's own districts of an import, for the layers the jurisdiction has (empty for live ones)."""
    record = submission.get("import_record")
    if record is None:
        return {}
    return {layer: district for layer, district in record["districts"].items() if layer in layers}


def recorded_agency(submission: Mapping) -> str | None:
    """The agency that handled an imported row (it owns the request); None for live submissions."""
    record = submission.get("import_record")
    return record["agency"] if record is not None else None
