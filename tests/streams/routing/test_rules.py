"""route(): first matching rule wins, then the service's own agency, then the default, else triage (rule
'no_match'); an import goes to the agency of the city's record."""

import shutil

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from civicflow.streams.enrichment import priority as enrichment_priority
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.jurisdiction.conditions import Facts
from civicflow.streams.routing import rules as routing_rules
from civicflow.streams.routing.models import NO_MATCH, RECORDED, SERVICE_AGENCY, Decision
from civicflow.streams.settings import Settings

RULES = [
    {"name": "hydrants", "agency": "NYPD", "queue": "hydrants",
     "when": {"service_code": ["illegal-parking"], "attributes": {"descriptor": ["blocked-hydrant"]}}},
    {"name": "night-noise", "agency": "NYPD", "queue": "nights",
     "when": {"service_code": ["noise-residential"], "attributes": {"noise_times": ["night"]}}},
    {"name": "urgent-noise", "agency": "NYPD", "queue": "noise-priority",
     "when": {"service_group": ["Noise"], "priority": ["urgent"]}},
    {"name": "staten-island-trees", "agency": "DPR", "queue": "staten-island",
     "when": {"service_group": ["Parks & Trees"], "districts": {"borough": ["Staten Island"]}}},
    {"name": "danger-words", "agency": "DOHMH", "queue": "danger", "when": {"keywords": ["gas", "carbon monoxide"]}},
    {"name": "parking", "agency": "NYPD", "when": {"service_code": ["illegal-parking", "blocked-driveway"]}},
    {"name": "never-reached", "agency": "DOT",
     "when": {"service_code": ["illegal-parking"], "attributes": {"descriptor": ["blocked-sidewalk"]}}},
    {"name": "trees", "agency": "DPR", "when": {"service_group": ["Parks & Trees"]}},
]


def _jurisdiction(root, default):
    directory = shutil.copytree(Settings().jurisdictions_dir / "nyc", root / "nyc")
    routing = {"rules": RULES} | ({"default": default} if default else {})
    (directory / "routing.yaml").write_text(yaml.safe_dump(routing, sort_keys=False), encoding="utf-8")
    return jurisdiction_loader.load_jurisdiction(directory)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """NYC's catalog and boundaries with the RULES above and no default."""
    return _jurisdiction(tmp_path_factory.mktemp("no-default"), default=None)


@pytest.fixture(scope="module")
def with_default(tmp_path_factory):
    return _jurisdiction(tmp_path_factory.mktemp("default"), default={"agency": "DSNY", "queue": "catch-all"})


def facts(service_code, *, group=None, attributes=None, description=None, districts=None, priority="normal"):
    return Facts(service_code=service_code, service_group=group, attributes=attributes or {},
                 description=description, districts=districts or {}, priority=priority)


def test_a_service_no_rule_matches_goes_to_its_own_agency(small, with_default):
    for jurisdiction in (small, with_default):
        decision = routing_rules.route(jurisdiction=jurisdiction, facts=facts("taxi-complaint"))
        assert decision == Decision(agency=small.services["taxi-complaint"].agency, queue="general",
                                    rule=SERVICE_AGENCY)


def test_no_match_outside_the_catalog_goes_to_triage(small):
    decision = routing_rules.route(jurisdiction=small, facts=facts("not-in-catalog", group="Taxis & For-Hire"))
    assert decision == Decision(agency=None, queue=None, rule=NO_MATCH)
    assert decision.triage and NO_MATCH == "no_match"


def test_the_default_takes_what_no_rule_and_no_service_agency_decides(with_default):
    decision = routing_rules.route(jurisdiction=with_default, facts=facts("not-in-catalog"))
    assert decision == Decision(agency="DSNY", queue="catch-all", rule="default")
    assert not decision.triage


def test_an_import_goes_to_the_agency_of_the_citys_record_whatever_the_rules(small):
    decision = routing_rules.route(jurisdiction=small, facts=facts("illegal-parking"), recorded_agency="DOT")
    assert decision == Decision(agency="DOT", queue="general", rule=RECORDED)


def test_a_matching_rule_wins_over_the_default(with_default):
    decision = routing_rules.route(jurisdiction=with_default, facts=facts("blocked-driveway"))
    assert decision == Decision(agency="NYPD", queue="general", rule="parking")


@pytest.mark.parametrize("descriptor, rule", [("blocked-hydrant", "hydrants"), ("blocked-sidewalk", "parking")])
def test_the_first_matching_rule_wins(small, descriptor, rule):
    decision = routing_rules.route(jurisdiction=small,
                                   facts=facts("illegal-parking", attributes={"descriptor": [descriptor]}))
    assert decision.rule == rule, "'never-reached' also matches blocked-sidewalk but comes after 'parking'"


def test_a_rule_needs_every_field_it_sets(small):
    decision = routing_rules.route(jurisdiction=small,
                                   facts=facts("blocked-driveway", attributes={"descriptor": ["blocked-hydrant"]}))
    assert decision.rule == "parking"


@pytest.mark.parametrize("noise_times, rule", [(["morning", "night"], "night-noise"), (["morning"], SERVICE_AGENCY),
                                               ([], SERVICE_AGENCY)])
def test_attributes(small, noise_times, rule):
    noise = facts("noise-residential", group="Noise", attributes={"noise_times": noise_times})
    assert routing_rules.route(jurisdiction=small, facts=noise).rule == rule


@pytest.mark.parametrize("priority, rule", [("urgent", "urgent-noise"), ("high", SERVICE_AGENCY),
                                                 (None, SERVICE_AGENCY)])
def test_priority_and_service_group(small, priority, rule):
    noise = facts("noise-street-sidewalk", group="Noise", priority=priority)
    assert routing_rules.route(jurisdiction=small, facts=noise).rule == rule


@pytest.mark.parametrize("districts, queue", [
    ({"borough": "Staten Island", "community_district": "501"}, "staten-island"),
    ({"borough": "Brooklyn"}, "general"), ({}, "general"),
])
def test_districts(small, districts, queue):
    tree = facts("damaged-tree", group="Parks & Trees", districts=districts)
    assert routing_rules.route(jurisdiction=small, facts=tree).queue == queue


@pytest.mark.parametrize("description, rule", [
    ("Smell of GAS near the meter", "danger-words"), ("Carbon Monoxide detector beeping", "danger-words"),
    ("gasoline on the road", SERVICE_AGENCY), ("degas", SERVICE_AGENCY), (None, SERVICE_AGENCY),
])
def test_keywords_are_whole_words_in_any_case(small, description, rule):
    taxi = facts("taxi-complaint", description=description)
    assert routing_rules.route(jurisdiction=small, facts=taxi).rule == rule


def _first_of_all(rules, facts_) -> str | None:
    """The reference: every rule in order, none skipped."""
    return next((rule.name for rule, matcher in rules if matcher.matches(facts_)), None)


@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_rules_kept_per_service_decide_as_a_scan_of_all_rules_does(small, data):
    service = data.draw(st.sampled_from(sorted(small.services) + ["not-in-catalog"]))
    facts_ = facts(service, group=data.draw(st.sampled_from([None, "Noise", "Parks & Trees"])),
                   attributes=data.draw(st.sampled_from([{}, {"descriptor": ["blocked-hydrant"]},
                                                         {"noise_times": ["night"]}])),
                   description=data.draw(st.sampled_from([None, "smell of gas", "fine"])),
                   districts=data.draw(st.sampled_from([{}, {"borough": "Staten Island"}])),
                   priority=data.draw(st.sampled_from(["normal", "urgent"])))
    fallback = SERVICE_AGENCY if service in small.services else NO_MATCH
    assert routing_rules.route(jurisdiction=small, facts=facts_).rule == (
        _first_of_all(small.routing_rules, facts_) or fallback)
    assert enrichment_priority.prioritize(jurisdiction=small, facts=facts_)[1] == (
        _first_of_all(small.priority_rules, facts_) or "default")


def test_a_rule_without_agency_sends_to_triage(tmp_path):
    rules = [{"name": "hand-routed", "agency": None, "when": {"service_code": ["taxi-complaint"]}}]
    directory = shutil.copytree(Settings().jurisdictions_dir / "nyc", tmp_path / "nyc")
    (directory / "routing.yaml").write_text(yaml.safe_dump({"rules": rules}), encoding="utf-8")
    jurisdiction = jurisdiction_loader.load_jurisdiction(directory)
    decision = routing_rules.route(jurisdiction=jurisdiction, facts=facts("taxi-complaint"))
    assert decision == Decision(agency=None, queue=None, rule="hand-routed") and decision.triage
