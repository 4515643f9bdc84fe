"""Answers to Open311 attributes: required/optional, datatypes, value lists, counts, unknown codes."""

import math
from datetime import datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from civicflow.streams.jurisdiction.models import Attribute, AttributeValue, Service
from civicflow.streams.validation import attributes as validation_attributes


def _values(*keys: str) -> list[AttributeValue]:
    return [AttributeValue(key=k, name=k.title()) for k in keys]


SERVICE = Service(service_code="pothole", service_name="Pothole", agency="DOT", attributes=[
    Attribute(code="kind", datatype="singlevaluelist", required=True, description="kind",
              values=_values("deep", "wide")),
    Attribute(code="lanes", datatype="multivaluelist", description="lanes", values=_values("left", "middle", "right")),
    Attribute(code="depth_cm", datatype="number", description="depth"),
    Attribute(code="seen_at", datatype="datetime", description="when"),
    Attribute(code="plate", datatype="string", description="plate"),
    Attribute(code="details", datatype="text", description="details"),
    Attribute(code="note", datatype="string", variable=False, description="read-only remark"),
])


def codes(answers: dict) -> list[tuple[str, str]]:
    return [(r.code, r.field) for r in validation_attributes.check(service=SERVICE, answers=answers)]


def test_only_the_required_attribute_is_enough():
    assert codes({"kind": ["deep"]}) == []


def test_every_datatype_accepts_a_good_answer():
    assert codes({"kind": ["wide"], "lanes": ["left", "right"], "depth_cm": ["12.5"],
                  "seen_at": ["2026-03-01T08:30:00Z"], "plate": ["ABC1234 NY"],
                  "details": ["Deep hole,\nnear the <corner>"]}) == []


@pytest.mark.parametrize("answer", [[], [""], ["  "]], ids=["none", "empty", "blank"])
def test_a_required_attribute_without_a_real_answer_is_missing(answer):
    assert codes({"kind": answer}) == [("attribute_missing", "attributes.kind")]


def test_a_code_the_service_does_not_define_is_unknown():
    assert codes({"kind": ["deep"], "colour": ["red"]}) == [("attribute_unknown", "attributes.colour")]


def test_a_non_variable_attribute_cannot_be_answered():
    assert codes({"kind": ["deep"], "note": ["hello"]}) == [("attribute_unknown", "attributes.note")]


@pytest.mark.parametrize("code, two", [("kind", ["deep", "wide"]), ("depth_cm", ["1", "2"]),
                                       ("seen_at", ["2026-01-01", "2026-01-02"]), ("plate", ["A", "B"]),
                                       ("details", ["x", "y"])])
def test_single_value_datatypes_take_one_answer(code, two):
    answers = {"kind": ["deep"], code: two}
    assert codes(answers) == [("attribute_multiple_values", f"attributes.{code}")]


def test_list_answers_must_be_value_keys():
    assert codes({"kind": ["Deep"]}) == [("attribute_not_allowed", "attributes.kind")], "keys are case-sensitive"
    reasons = validation_attributes.check(service=SERVICE, answers={"kind": ["deep"], "lanes": ["left", "shoulder"]})
    assert [r.code for r in reasons] == ["attribute_not_allowed"]
    assert "'shoulder'" in reasons[0].message and "'left'" not in reasons[0].message


@pytest.mark.parametrize("value", ["12", "-3.5", "+.5", "1e3", "2.", " 7 "])
def test_number_answers(value):
    assert codes({"kind": ["deep"], "depth_cm": [value]}) == []


@pytest.mark.parametrize("value", ["twelve", "1,000", "1 000", "0x10", "nan", "inf", "-Infinity", "1e400", "1_0",
                                   "7\x1f"])
def test_answers_that_are_not_numbers(value):
    assert codes({"kind": ["deep"], "depth_cm": [value]}) == [("attribute_wrong_type", "attributes.depth_cm")]


@pytest.mark.parametrize("value", ["2026-03-01", "2026-03-01T08:30", "2026-03-01T08:30:00Z",
                                   "2026-03-01 08:30:00-05:00"])
def test_datetime_answers(value):
    assert codes({"kind": ["deep"], "seen_at": [value]}) == []


@pytest.mark.parametrize("value", ["yesterday", "03/01/2026", "2026-02-30", "08:30"])
def test_answers_that_are_not_datetimes(value):
    assert codes({"kind": ["deep"], "seen_at": [value]}) == [("attribute_wrong_type", "attributes.seen_at")]


def test_every_attribute_problem_is_reported():
    assert sorted(codes({"colour": ["red"], "lanes": ["up"], "depth_cm": ["deep"], "seen_at": ["now"],
                         "plate": ["A", "B"]})) == sorted([
        ("attribute_unknown", "attributes.colour"), ("attribute_missing", "attributes.kind"),
        ("attribute_not_allowed", "attributes.lanes"), ("attribute_wrong_type", "attributes.depth_cm"),
        ("attribute_wrong_type", "attributes.seen_at"), ("attribute_multiple_values", "attributes.plate")])


NUMBERISH = st.one_of(
    st.text(),
    st.from_regex(r"\A\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*\Z"),
    st.floats().map(repr),
    st.integers().map(str),
    st.decimals().map(str),
)


@given(NUMBERISH)
@example("1e400")
@example("9" * 400)
@example(".1E\u0b6a00")  # an Oriya digit 4: 1e400
@example("7\x1f")  # str.strip() removes \x1c-\x1f, float() does not
def test_is_number_agrees_with_float_on_what_it_accepts(text):
    if validation_attributes.is_number(text):
        assert math.isfinite(float(text))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_every_finite_float_round_trips(number):
    assert validation_attributes.is_number(repr(number))
    assert float(repr(number)) == number


@given(st.sampled_from(["nan", "inf", "infinity"]), st.sampled_from(["", "+", "-"]), st.booleans())
def test_nan_and_infinity_are_rejected_in_any_spelling(word, sign, upper):
    text = sign + (word.upper() if upper else word.capitalize())
    assert math.isnan(float(text)) or math.isinf(float(text))
    assert not validation_attributes.is_number(text)


@given(st.datetimes(timezones=st.one_of(st.none(), st.timezones())))
def test_iso_datetimes_are_datetimes(moment: datetime):
    assert validation_attributes.is_datetime(moment.isoformat())
    assert validation_attributes.is_datetime(moment.date().isoformat())
