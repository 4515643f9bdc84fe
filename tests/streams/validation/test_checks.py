"""validate(): one minimal input per reason code, and every failing rule reported together."""

import math
from datetime import datetime, timedelta, timezone

import pytest

from streams.jurisdiction import loader as jurisdiction_loader
from streams.settings import Settings
from streams.validation import checks as validation_checks
from streams.validation import text as validation_text
from streams.validation.models import REASON_CODES

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
EXPECTED_KEY = object()


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


def submission(**overrides) -> dict:
    """A valid NYC submission (a missing stop sign at Times Square), with overrides."""
    record = {"request_id": "r-1", "idempotency_key": None, "jurisdiction_id": "nyc",
              "service_code": "street-sign-missing", "channel": "web", "language": "en",
              "submitted_at": NOW - timedelta(minutes=1), "due_at": None, "lat": 40.7580, "long": -73.9855,
              "address_string": None, "address_id": None, "attributes": {"descriptor": ["stop"]},
              "description": "The stop sign is gone", "media_url": None}
    record.update(overrides)
    return record


def reasons_for(jurisdictions, *, key=EXPECTED_KEY, **overrides) -> list:
    record = submission(**overrides)
    key = validation_checks.expected_key(record) if key is EXPECTED_KEY else key
    return validation_checks.validate(submission=record, jurisdictions=jurisdictions, key=key, now=NOW)


# reason code -> (the smallest change of a valid submission that produces it, the field it names)
ONE_FAULT = {
    "request_id_missing": ({"request_id": "  "}, "request_id"),
    "partition_key_mismatch": ({"key": b"nyc:street-sign-dangling"}, None),
    "unknown_jurisdiction": ({"jurisdiction_id": "atlantis"}, "jurisdiction_id"),
    "unknown_service_code": ({"service_code": "no-such-service"}, "service_code"),
    "attribute_missing": ({"attributes": {}}, "attributes.descriptor"),
    "attribute_unknown": ({"attributes": {"descriptor": ["stop"], "colour": ["red"]}}, "attributes.colour"),
    "attribute_multiple_values": ({"attributes": {"descriptor": ["stop", "school-crossing"]}},
                                  "attributes.descriptor"),
    "attribute_wrong_type": ({"service_code": "consumer-complaint",
                              "attributes": {"descriptor": ["overcharge"], "amount_disputed": ["lots"]}},
                             "attributes.amount_disputed"),
    "attribute_not_allowed": ({"attributes": {"descriptor": ["yield"]}}, "attributes.descriptor"),
    "location_missing": ({"lat": None, "long": None}, "lat"),
    "location_incomplete": ({"long": None}, "long"),
    "location_invalid": ({"lat": 91.0}, "lat"),
    "location_outside_jurisdiction": ({"lat": 39.9526, "long": -75.1652}, "lat"),
    "description_too_long": ({"description": "x" * (validation_text.MAX_DESCRIPTION + 1)}, "description"),
    "description_html": ({"description": "Sign is <b>gone</b>"}, "description"),
    "media_url_invalid": ({"media_url": "ftp://example.org/sign.jpg"}, "media_url"),
    "language_invalid": ({"language": "english"}, "language"),
    "submitted_at_in_future": ({"submitted_at": NOW + timedelta(minutes=6)}, "submitted_at"),
    "due_before_submission": ({"due_at": NOW - timedelta(minutes=1)}, "due_at"),
}


def test_every_reason_code_but_the_pipelines_own_is_covered():
    assert set(ONE_FAULT) == set(REASON_CODES) - {"duplicate_submission"}


def test_the_valid_submission_has_no_reasons(jurisdictions):
    assert reasons_for(jurisdictions) == []


@pytest.mark.parametrize("code", sorted(ONE_FAULT))
def test_a_minimal_fault_yields_exactly_its_reason(jurisdictions, code):
    overrides, field = ONE_FAULT[code]
    reasons = reasons_for(jurisdictions, **overrides)
    assert [(r.code, r.field) for r in reasons] == [(code, field)]
    assert reasons[0].message


def test_several_failing_rules_are_reported_together(jurisdictions):
    reasons = reasons_for(jurisdictions, key=b"nyc:wrong", request_id="", description="<p>help</p>",
                          media_url="javascript:alert(1)", language="e", lat=39.9526, long=-75.1652,
                          attributes={"colour": ["red"]}, submitted_at=NOW + timedelta(hours=1), due_at=NOW)
    assert sorted(r.code for r in reasons) == sorted([
        "request_id_missing", "partition_key_mismatch", "submitted_at_in_future", "due_before_submission",
        "description_html", "media_url_invalid", "language_invalid", "location_outside_jurisdiction",
        "attribute_unknown", "attribute_missing"])


def test_an_unknown_jurisdiction_still_reports_the_envelope_and_text_problems(jurisdictions):
    reasons = reasons_for(jurisdictions, jurisdiction_id="atlantis", request_id="", description="<i>x</i>")
    assert {r.code for r in reasons} == {"request_id_missing", "description_html", "unknown_jurisdiction"}
    unknown = next(r for r in reasons if r.code == "unknown_jurisdiction")
    assert "nyc" in unknown.message, "the message lists the known jurisdictions"


def test_too_long_html_description_gets_both_reasons(jurisdictions):
    reasons = reasons_for(jurisdictions, description="<br>" * 1001)
    assert {r.code for r in reasons} == {"description_too_long", "description_html"}


@pytest.mark.parametrize("overrides", [
    {"description": "x" * validation_text.MAX_DESCRIPTION},
    {"submitted_at": NOW + timedelta(minutes=5)},
    {"due_at": NOW - timedelta(minutes=1) + timedelta(seconds=1)},
    {"lat": None, "long": None, "address_string": "1 Times Square, New York"},
    {"lat": None, "long": None, "address_id": "1010110001"},
    {"description": None, "language": None, "media_url": "https://example.org/sign.jpg"},
    {"attributes": {"descriptor": ["stop", " "]}},
], ids=["4000-characters", "5-minutes-ahead", "due-1s-after", "address-only", "address-id-only", "nulls",
        "blank-extra-value"])
def test_limits_that_are_still_acceptable(jurisdictions, overrides):
    assert reasons_for(jurisdictions, **overrides) == []


@pytest.mark.parametrize("lat, lon", [(math.nan, -73.9855), (40.7580, math.inf), (-90.5, 0.0), (40.0, 180.5)])
def test_coordinates_that_are_not_wgs84_are_invalid(jurisdictions, lat, lon):
    assert [r.code for r in reasons_for(jurisdictions, lat=lat, long=lon)] == ["location_invalid"]


def test_a_missing_key_is_a_mismatch(jurisdictions):
    assert [r.code for r in reasons_for(jurisdictions, key=None)] == ["partition_key_mismatch"]


def test_expected_key_is_jurisdiction_and_service():
    assert validation_checks.expected_key(submission()) == b"nyc:street-sign-missing"


def test_a_service_about_an_account_needs_no_location(jurisdictions):
    no_place = {"lat": None, "long": None, "address_string": None, "address_id": None}
    account = reasons_for(jurisdictions, service_code="dof-parking-payment-issue", attributes={}, **no_place)
    place = reasons_for(jurisdictions, **no_place)
    assert "location_missing" not in {r.code for r in account}
    assert "location_missing" in {r.code for r in place}
