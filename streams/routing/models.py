"""A routing decision."""

from dataclasses import dataclass

NO_MATCH = "no_match"


@dataclass(frozen=True, slots=True)
class Decision:
    """Which agency and queue get the request, and the rule that said so; triage when nothing matched."""

    agency: str | None
    queue: str | None
    rule: str

    @property
    def triage(self) -> bool:
        return self.agency is None
