"""Matcher: every field a condition sets must hold; within a list any element may; keywords are whole words."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicflow.streams.jurisdiction.conditions import Facts, Matcher
from civicflow.streams.jurisdiction.models import Condition


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


def _reference(condition: Condition, f: Facts) -> bool:
    """The condition read literally: each field it sets holds, any listed value will do."""
    return ((condition.service_code is None or f.service_code in condition.service_code)
            and (condition.service_group is None or f.service_group in condition.service_group)
            and (condition.priority is None or f.priority in condition.priority)
            and all(f.districts.get(layer) in allowed for layer, allowed in (condition.districts or {}).items())
            and all(any(v in allowed for v in f.attributes.get(code, ())) for code, allowed
                    in (condition.attributes or {}).items()))


TOKEN = st.sampled_from(["a", "b", "c"])
LISTS = st.none() | st.lists(TOKEN, max_size=3)
MAPS = st.none() | st.dictionaries(st.sampled_from(["x", "y"]), st.lists(TOKEN, max_size=3), max_size=2)


@given(service_code=LISTS, service_group=LISTS, priority=LISTS, districts=MAPS, attributes=MAPS,
       code=TOKEN, group=st.none() | TOKEN, level=st.none() | TOKEN,
       places=st.dictionaries(st.sampled_from(["x", "y"]), TOKEN, max_size=2),
       answers=st.dictionaries(st.sampled_from(["x", "y"]), st.lists(TOKEN, max_size=3), max_size=2))
def test_a_compiled_condition_decides_as_the_condition_reads(service_code, service_group, priority, districts,
                                                              attributes, code, group, level, places, answers):
    condition = Condition(service_code=service_code, service_group=service_group, priority=priority,
                          districts=districts, attributes=attributes)
    f = Facts(service_code=code, service_group=group, attributes=answers, description=None, districts=places,
              priority=level)
    assert Matcher(condition).matches(f) is _reference(condition, f)
