"""Declarative routing: the first matching rule wins, then the jurisdiction's default, else triage."""

from streams.jurisdiction.conditions import Facts
from streams.routing.models import NO_MATCH, Decision


def route(*, jurisdiction, facts: Facts) -> Decision:
    """The decision for a request with these facts (facts.priority set)."""
    for rule, matcher in jurisdiction.routing_rules_for(facts.service_code):
        if matcher.matches(facts):
            return Decision(agency=rule.agency, queue=rule.queue, rule=rule.name)
    default = jurisdiction.default_route
    if default is not None:
        return Decision(agency=default.agency, queue=default.queue, rule="default")
    return Decision(agency=None, queue=None, rule=NO_MATCH)
