"""Matching a rule's `when` against what is known about a request (routing and priority share it)."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from streams.jurisdiction.models import Condition


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
    """A Condition compiled once at load (keywords become one case-insensitive whole-word pattern)."""

    def __init__(self, condition: Condition) -> None:
        self.condition = condition
        words = condition.keywords or []
        self._keywords = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.I) if words else None

    def matches(self, facts: Facts) -> bool:
        """True when every field the condition sets holds for the facts."""
        c = self.condition
        if c.service_code is not None and facts.service_code not in c.service_code:
            return False
        if c.service_group is not None and facts.service_group not in c.service_group:
            return False
        if c.priority is not None and facts.priority not in c.priority:
            return False
        if c.districts is not None and not _all_in(c.districts, lambda layer: [facts.districts.get(layer)]):
            return False
        if c.attributes is not None and not _all_in(c.attributes, lambda code: facts.attributes.get(code, ())):
            return False
        if self._keywords is not None and not (facts.description and self._keywords.search(facts.description)):
            return False
        return True


def _all_in(wanted: Mapping[str, Sequence[str]], actual) -> bool:
    """Every key has at least one actual value among the wanted ones."""
    return all(any(value in allowed for value in actual(key)) for key, allowed in wanted.items())
