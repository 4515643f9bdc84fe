"""prioritize() with NYC's priority.yaml: first matching rule, else the default level; then routing sees it."""

import dataclasses

import pytest

from civicflow.streams.enrichment import facts as enrichment_facts
from civicflow.streams.enrichment import priority as enrichment_priority
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.routing import rules as routing_rules
from civicflow.streams.settings import Settings


@pytest.fixture(scope="module")
def nyc():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)["nyc"]


def facts_for(nyc, service_code, *, attributes=None, description=None, districts=None):
    submission = {"service_code": service_code, "attributes": attributes or {}, "description": description}
    return enrichment_facts.of(service=nyc.service_for(submission), submission=submission, districts=districts or {})


def prioritize(nyc, service_code, **given):
    return enrichment_priority.prioritize(jurisdiction=nyc, facts=facts_for(nyc, service_code, **given))


def test_facts_take_the_group_from_the_catalog(nyc):
    facts = facts_for(nyc, "noise-residential", description="music", districts={"borough": "Queens"})
    assert (facts.service_group, facts.priority, facts.districts) == ("Noise", None, {"borough": "Queens"})


def test_without_a_matching_rule_the_default_level(nyc):
    assert prioritize(nyc, "street-sign-missing", attributes={"descriptor": ["stop"]}) == ("normal", "default")


@pytest.mark.parametrize("service_code, attributes, expected", [
    ("elder-abuse", {}, ("urgent", "elder-abuse")),
    ("dhs-advantage-tenant", {"descriptor": ["court-date-within-7-days"]}, ("high", "court-date-this-week")),
    ("illegal-parking", {"descriptor": ["blocked-hydrant"]}, ("high", "blocked-hydrant")),
    ("illegal-parking", {"descriptor": ["blocked-sidewalk"]}, ("normal", "default")),
    ("damaged-tree", {"descriptor": ["tree-leaning-uprooted"]}, ("high", "tree-hazard")),
    ("noise-residential", {"noise_times": ["evening", "night"]}, ("high", "night-noise")),
    ("noise-residential", {"noise_times": ["evening"]}, ("normal", "default")),
    ("dof-property-payment-issue", {}, ("low", "paperwork")),
])
def test_rules(nyc, service_code, attributes, expected):
    assert prioritize(nyc, service_code, attributes=attributes) == expected


@pytest.mark.parametrize("description, expected", [
    ("SMOKE coming from the vent", "urgent"), ("a man is injured.", "urgent"), ("smoked salmon stall", "normal"),
    ("the fireplace", "normal"), (None, "normal"),
])
def test_danger_words_are_whole_words_in_any_case(nyc, description, expected):
    assert prioritize(nyc, "consumer-complaint", description=description)[0] == expected


def test_the_first_matching_rule_wins(nyc):
    hydrant_fire = dict(attributes={"descriptor": ["blocked-hydrant"]}, description="car on the hydrant, fire nearby")
    assert prioritize(nyc, "illegal-parking", **hydrant_fire) == ("urgent", "danger-words")
    assert prioritize(nyc, "dof-property-payment-issue", description="gas bill") == ("urgent", "danger-words")


@pytest.mark.parametrize("noise_times, priority, route", [
    (["night"], "high", ("NYPD", "noise-priority", "nypd-noise-priority")),
    (["morning"], "normal", ("NYPD", "general", "nypd")),
])
def test_routing_sees_the_priority(nyc, noise_times, priority, route):
    facts = facts_for(nyc, "noise-residential", attributes={"noise_times": noise_times})
    level, _ = enrichment_priority.prioritize(jurisdiction=nyc, facts=facts)
    decision = routing_rules.route(jurisdiction=nyc, facts=dataclasses.replace(facts, priority=level))
    assert level == priority
    assert (decision.agency, decision.queue, decision.rule) == route
