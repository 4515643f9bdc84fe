"""A routing decision."""

from dataclasses import dataclass

NO_MATCH = "no_match"
SERVICE_AGENCY = "service_agency"  # no rule matched: the agency services.yaml names for the service
RECORDED = "recorded_agency"  # an import: the agency that handled the row in the city's record


@dataclass(frozen=True, slots=True)
class Decision:
    """Which agency and queue get the request, and the rule that said so; triage when nothing matched."""

    agency: str | None
    queue: str | None
    rule: str

    @property
    def triage(self) -> bool:
        return self.agency is None
