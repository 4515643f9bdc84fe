"""Matching a rule's `when` against what is known about a request (routing and priority share it)."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from civicflow.streams.jurisdiction.models import Condition


@dataclass(frozen=True, slots=True)
class Facts:
    """What rules can look at."""

    service_code: str
    service_group: str | None
    attributes: Mapping[str, Sequence[str]]
    description: str | None
    districts: Mapping[str, str]
    priority: str | None = None


class Matcher:
    """A Condition compiled once at load: lists become sets, keywords one case-insensitive whole-word pattern.
    Rules are matched for every request, so `matches` is plain loops over what the condition sets."""

    def __init__(self, condition: Condition) -> None:
        self.condition = condition
        self._services = _set(condition.service_code)
        self._groups = _set(condition.service_group)
        self._priorities = _set(condition.priority)
        self._districts = _sets(condition.districts)
        self._attributes = _sets(condition.attributes)
        words = condition.keywords or []
        self._keywords = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.I) if words else None

    def matches(self, facts: Facts) -> bool:
        """True when every field the condition sets holds for the facts; within a list any element may."""
        if self._services is not None and facts.service_code not in self._services:
            return False
        if self._groups is not None and facts.service_group not in self._groups:
            return False
        if self._priorities is not None and facts.priority not in self._priorities:
            return False
        for layer, allowed in self._districts:
            if facts.districts.get(layer) not in allowed:
                return False
        for code, allowed in self._attributes:
            if allowed.isdisjoint(facts.attributes.get(code, ())):
                return False
        if self._keywords is not None and not (facts.description and self._keywords.search(facts.description)):
            return False
        return True


def _set(values: Sequence[str] | None) -> frozenset | None:
    return None if values is None else frozenset(values)


def _sets(wanted: Mapping[str, Sequence[str]] | None) -> tuple[tuple[str, frozenset], ...]:
    return tuple((key, frozenset(allowed)) for key, allowed in (wanted or {}).items())
