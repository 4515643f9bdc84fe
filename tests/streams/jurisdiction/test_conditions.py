"""Matcher: every field a condition sets must hold; within a list any element may; keywords are whole words."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.jurisdiction.conditions import Facts, Matcher
from streams.jurisdiction.models import Condition


def facts(**overrides) -> Facts:
    values = dict(service_code="noise-residential", service_group="Noise", attributes={"noise_times": ["evening"]},
                  description="Loud music upstairs", districts={"borough": "Brooklyn", "community_district": "307"},
                  priority="normal")
    values.update(overrides)
    return Facts(**values)


def matches(facts_: Facts, **condition) -> bool:
    return Matcher(Condition(**condition)).matches(facts_)


def test_an_empty_condition_matches_everything():
    assert matches(facts())
    assert matches(Facts(service_code="x", service_group=None, attributes={}, description=None, districts={}))


@pytest.mark.parametrize("condition, expected", [
    ({"service_code": ["noise-park", "noise-residential"]}, True),
    ({"service_code": ["noise-park"]}, False),
    ({"service_group": ["Noise"]}, True),
    ({"service_group": ["noise"]}, False),
    ({"priority": ["normal", "high"]}, True),
    ({"priority": ["high"]}, False),
    ({"districts": {"borough": ["Queens", "Brooklyn"]}}, True),
    ({"districts": {"borough": ["Brooklyn"], "community_district": ["301"]}}, False),
    ({"districts": {"council_district": ["33"]}}, False),
    ({"attributes": {"noise_times": ["night", "evening"]}}, True),
    ({"attributes": {"noise_times": ["night"]}}, False),
    ({"attributes": {"descriptor": ["loud-music-party"]}}, False),
    ({"service_code": ["noise-residential"], "priority": ["high"]}, False),
])
def test_fields(condition, expected):
    assert matches(facts(), **condition) is expected


def test_no_priority_and_no_group_never_match_a_list():
    assert not matches(facts(priority=None), priority=["normal"])
    assert not matches(facts(service_group=None), service_group=["Noise"])


def test_any_of_several_answers_matches():
    assert matches(facts(attributes={"noise_times": ["morning", "night"]}), attributes={"noise_times": ["night"]})


@pytest.mark.parametrize("description, expected", [
    ("Smell of GAS in the hall", True), ("gas.", True), ("(gas)", True), ("gasoline spill", False),
    ("degas", False), ("carbon monoxide alarm", True), ("Carbon  monoxide", False), ("", False), (None, False),
])
def test_keywords_are_whole_words_in_any_case(description, expected):
    assert matches(facts(description=description), keywords=["gas", "carbon monoxide"]) is expected


def test_keywords_are_literal_text_not_patterns():
    assert matches(facts(description="a c.o leak"), keywords=["c.o"])
    assert not matches(facts(description="a cxo leak"), keywords=["c.o"])


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


@given(WORD, st.lists(WORD, max_size=12), st.sampled_from([" ", ", ", ". ", "\n", " - "]), st.booleans())
def test_a_keyword_matches_exactly_when_it_is_one_of_the_words(keyword, words, separator, shout):
    description = separator.join(words)
    description = description.upper() if shout else description
    assert matches(facts(description=description), keywords=[keyword]) is (keyword in words)
