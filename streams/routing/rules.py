"""Declarative routing: the first matching rule wins, then the service's own agency, then the jurisdiction's
default, else triage. An imported request goes to the agency that handled it in the city's record."""

from civicflow.streams.jurisdiction.conditions import Facts
from civicflow.streams.routing.models import NO_MATCH, RECORDED, SERVICE_AGENCY, Decision


def route(*, jurisdiction, facts: Facts, recorded_agency: str | None = None) -> Decision:
    """The decision for a request with these facts (facts.priority set)."""
    if recorded_agency:
        return Decision(agency=recorded_agency, queue="general", rule=RECORDED)
    for rule, matcher in jurisdiction.routing_rules_for(facts.service_code):
        if matcher.matches(facts):  # agency null: the rule sends the request to triage
            return Decision(agency=rule.agency, queue=rule.queue if rule.agency else None, rule=rule.name)
    service = jurisdiction.services.get(facts.service_code)
    if service is not None and service.agency in jurisdiction.agency_names:
        return Decision(agency=service.agency, queue="general", rule=SERVICE_AGENCY)
    default = jurisdiction.default_route
    if default is not None:
        return Decision(agency=default.agency, queue=default.queue, rule="default")
    return Decision(agency=None, queue=None, rule=NO_MATCH)
