"""Priority from the jurisdiction's declarative rules: the first matching rule, else the default level."""

from civicflow.streams.jurisdiction.conditions import Facts


def prioritize(*, jurisdiction, facts: Facts) -> tuple[str, str]:
    """(priority level, name of the rule that set it or 'default')."""
    for rule, matcher in jurisdiction.priority_rules_for(facts.service_code):
        if matcher.matches(facts):
            return rule.priority, rule.name
    return jurisdiction.default_priority, "default"
