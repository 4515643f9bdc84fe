"""Answers to a service's Open311 attributes, checked against its definition (datatype, values, required)."""

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from civicflow.streams.jurisdiction.models import Attribute, Service
from civicflow.streams.validation.models import Reason

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)  # ASCII digits only
_LISTS = ("singlevaluelist", "multivaluelist")


def is_number(text: str) -> bool:
    """A decimal number as text, in ASCII digits (no NaN, no infinity, no thousands separators, no '４０')."""
    if _NUMBER.fullmatch(text.strip()) is None:
        return False
    try:  # what float() reads: '1e400' overflows to infinity, float() strips less than str.strip()
        return math.isfinite(float(text))
    except ValueError:
        return False


def is_datetime(text: str) -> bool:
    """An ISO 8601 date or date-time."""
    try:
        datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def check(*, service: Service, answers: Mapping[str, Sequence[str]]) -> list[Reason]:
    """Every problem of the answers: unknown codes, missing required ones, wrong counts, types and values."""
    defined = {a.code: a for a in service.attributes if a.variable}
    reasons = [Reason("attribute_unknown", f"service {service.service_code} has no attribute {code!r}",
                      f"attributes.{code}") for code in answers if code not in defined]
    for code, attribute in defined.items():
        given = [v for v in answers.get(code, ()) if v.strip()]
        if not given:
            if attribute.required:
                reasons.append(Reason("attribute_missing", f"attribute {code!r} is required", f"attributes.{code}"))
            continue
        reasons += _check_values(attribute, given)
    return reasons


def _check_values(attribute: Attribute, given: list[str]) -> list[Reason]:
    where = f"attributes.{attribute.code}"
    if len(given) > 1 and attribute.datatype != "multivaluelist":
        return [Reason("attribute_multiple_values",
                       f"attribute {attribute.code!r} takes one value, got {len(given)}", where)]
    if attribute.datatype in _LISTS:
        keys = {v.key for v in attribute.values}
        wrong = [v for v in given if v not in keys]
        if wrong:
            return [Reason("attribute_not_allowed", f"attribute {attribute.code!r} does not allow {wrong!r}; "
                           f"allowed: {', '.join(sorted(keys))}", where)]
    elif attribute.datatype == "number" and not is_number(given[0]):
        return [Reason("attribute_wrong_type", f"attribute {attribute.code!r} must be a number, got {given[0]!r}",
                       where)]
    elif attribute.datatype == "datetime" and not is_datetime(given[0]):
        return [Reason("attribute_wrong_type",
                       f"attribute {attribute.code!r} must be an ISO 8601 datetime, got {given[0]!r}", where)]
    return []
