"""validate(): one minimal input per reason code, and every failing rule reported together."""

import math
from datetime import datetime, timedelta, timezone

import pytest

from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import Settings
from civicflow.streams.validation import bounds as validation_bounds
from civicflow.streams.validation import checks as validation_checks
from civicflow.streams.validation import text as validation_text
from civicflow.streams.validation.bounds import Bounds
from civicflow.streams.validation.models import REASON_CODES
from tests import factories

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
EXPECTED_KEY = object()


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


def submission(**overrides) -> dict:
    """A valid NYC submission (a missing stop sign at Times Square), with overrides."""
    return factories.submission(**{"submitted_at": NOW - timedelta(minutes=1), **overrides})


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
    "attribute_not_allowed": ({"attributes": {"descriptor": ["no-such-sign"]}}, "attributes.descriptor"),
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
    "submitted_at_too_old": ({"submitted_at": NOW - timedelta(days=30, seconds=1)}, "submitted_at"),
    "due_at_too_far": ({"due_at": NOW + timedelta(days=5 * 366)}, "due_at"),
    "text_html": ({"address_string": "<script>alert(1)</script> Broadway"}, "address_string"),
    "text_too_long": ({"address_id": "1" * (validation_text.MAX_TEXT + 1)}, "address_id"),
    "text_control_characters": ({"description": "stop\x00sign"}, "description"),
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
    {"submitted_at": NOW - timedelta(days=30)},
    {"due_at": NOW - timedelta(minutes=1) + timedelta(days=5 * 366)},
    {"address_string": "a" * validation_text.MAX_TEXT, "description": "tabs\tand\r\nlines"},
    {"address_string": "5 < 6 Av & W 4 St", "first_name": "Zoë", "last_name": "O'Brien-Núñez"},
], ids=["4000-characters", "5-minutes-ahead", "due-1s-after", "address-only", "address-id-only", "nulls",
        "blank-extra-value", "30-days-back", "due-5-years-less-1-minute", "1000-characters", "plain-names"])
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


# ---- bounds ------------------------------------------------------------------------------------------------------

def test_year_one_is_refused_live(jurisdictions):
    """The submission of issue 19 that broke every list: submitted in year 1."""
    reasons = reasons_for(jurisdictions, submitted_at=datetime(1, 1, 1, tzinfo=timezone.utc))
    assert [r.code for r in reasons] == ["submitted_at_too_old"]


def test_an_import_of_history_is_exempt_from_the_horizon(jurisdictions):
    record = submission(submitted_at=datetime(2011, 3, 1, tzinfo=timezone.utc),
                        import_record={"agency": "DOT", "service_name": None, "districts": {}, "warnings": []})
    assert validation_checks.validate(submission=record, jurisdictions=jurisdictions,
                                      key=validation_checks.expected_key(record), now=NOW) == []


def test_the_horizon_and_skew_come_from_the_bounds(jurisdictions):
    narrow = Bounds(horizon=timedelta(hours=1), skew=timedelta(seconds=10))
    record = submission(submitted_at=NOW - timedelta(hours=2))
    key = validation_checks.expected_key(record)
    assert [r.code for r in validation_checks.validate(submission=record, jurisdictions=jurisdictions, key=key,
                                                       now=NOW, bounds=narrow)] == ["submitted_at_too_old"]
    ahead = submission(submitted_at=NOW + timedelta(seconds=11))
    assert [r.code for r in validation_checks.validate(submission=ahead, jurisdictions=jurisdictions, key=key,
                                                       now=NOW, bounds=narrow)] == ["submitted_at_in_future"]


def test_bounds_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CIVICFLOW_TIME_HORIZON_DAYS", "7")
    monkeypatch.setenv("CIVICFLOW_CLOCK_SKEW_S", "60")
    monkeypatch.setenv("CIVICFLOW_UPDATE_MAX_AGE_H", "2")
    assert Bounds.from_settings(Settings()) == Bounds(horizon=timedelta(days=7), skew=timedelta(minutes=1),
                                                      update_max_age=timedelta(hours=2))
    monkeypatch.delenv("CIVICFLOW_TIME_HORIZON_DAYS")
    monkeypatch.delenv("CIVICFLOW_CLOCK_SKEW_S")
    monkeypatch.delenv("CIVICFLOW_UPDATE_MAX_AGE_H")
    assert Bounds.from_settings(Settings()) == Bounds()  # the documented defaults: 30 days, 5 minutes, 24 hours


@pytest.mark.parametrize("name", ["address_string", "address_id", "first_name", "last_name", "device_id",
                                  "account_id", "external_id", "email"])
def test_markup_is_refused_in_every_free_text_field(jurisdictions, name):
    reasons = reasons_for(jurisdictions, **{name: "<script>alert(1)</script>"})
    assert [(r.code, r.field) for r in reasons] == [("text_html", name)]
    assert "script" not in reasons[0].message, "the value (perhaps personal data) is not echoed"


def test_markup_and_length_in_a_text_attributes_answer(jurisdictions):
    base = {"service_code": "consumer-complaint", "lat": None, "long": None, "address_string": "1 Centre St"}
    html = reasons_for(jurisdictions, **base, attributes={"descriptor": ["overcharge"],
                                                          "business_name": ["<img src=x onerror=alert(1)>"]})
    assert [(r.code, r.field) for r in html] == [("text_html", "attributes.business_name")]
    long = reasons_for(jurisdictions, **base, attributes={"descriptor": ["overcharge"],
                                                          "details": ["x" * (validation_text.MAX_DESCRIPTION + 1)]})
    assert [(r.code, r.field) for r in long] == [("text_too_long", "attributes.details")]
    fine = reasons_for(jurisdictions, **base, attributes={"descriptor": ["overcharge"],
                                                          "details": ["x" * validation_text.MAX_DESCRIPTION]})
    assert fine == []


@pytest.mark.parametrize("text", ["\x00", "a\x07b", "\x1b[31m", "\x7f", "\ud800"])
def test_control_characters_are_refused_in_any_text(jurisdictions, text):
    assert [r.code for r in reasons_for(jurisdictions, address_string=text)] == ["text_control_characters"]
    answers = {"descriptor": ["stop"], "location_type": [text]}
    assert "text_control_characters" in [r.code for r in reasons_for(jurisdictions, attributes=answers)]


@pytest.mark.parametrize("text", ["40.7", "-73.98", "+1", "1e3", ".5", " 40.7 ", "0"])
def test_ascii_decimal_numbers_are_numbers(text):
    assert validation_bounds.parse_number(text) == float(text)


@pytest.mark.parametrize("text", ["\uff14\uff10.\uff17", "\u0664\u0660", "4\u20080", "nan", "NaN", "inf",
                                  "-Infinity", "1e999", "1_000", "1,000", "0x10", "", " ", "40.7.1"])
def test_numbers_in_other_digits_or_without_a_finite_value_are_not(text):
    assert validation_bounds.parse_number(text) is None


def test_a_number_attribute_in_full_width_digits_is_the_wrong_type(jurisdictions):
    """Issue 19: full-width digits were accepted as numbers (float() reads them)."""
    reasons = reasons_for(jurisdictions, service_code="consumer-complaint", lat=None, long=None,
                          address_string="1 Centre St",
                          attributes={"descriptor": ["overcharge"], "amount_disputed": ["\uff11\uff12\uff10"]})
    assert [r.code for r in reasons] == ["attribute_wrong_type"]


# ---- update times --------------------------------------------------------------------------------------------

SUBMITTED = NOW - timedelta(hours=3)


def update_codes(occurred_at, *, last=None, live=True, bounds=None):
    return [r.code for r in validation_checks.update_time(occurred_at=occurred_at, submitted_at=SUBMITTED,
                                                          last_update_at=last, now=NOW, live=live,
                                                          bounds=bounds or Bounds())]


def test_an_update_between_submission_and_now_is_accepted():
    assert update_codes(SUBMITTED) == [] and update_codes(NOW + timedelta(minutes=5)) == []
    assert update_codes(NOW - timedelta(hours=1), last=NOW - timedelta(hours=1)) == []


def test_the_acknowledgement_dated_1900_is_refused():
    """Issue 19: an acknowledgement dated 1900-01-01 on a request submitted today was accepted as met."""
    assert update_codes(datetime(1900, 1, 1, tzinfo=timezone.utc)) == ["update_before_submission", "update_too_old"]


@pytest.mark.parametrize(("occurred_at", "last", "codes"), [
    (NOW + timedelta(minutes=6), None, ["update_in_future"]),
    (SUBMITTED - timedelta(seconds=1), None, ["update_before_submission"]),
    (NOW - timedelta(hours=2), NOW - timedelta(hours=1), ["update_before_last_update"]),
])
def test_update_times_that_rewrite_history_are_refused(occurred_at, last, codes):
    assert update_codes(occurred_at, last=last) == codes


def test_the_age_bound_is_configurable_and_replays_are_exempt():
    old = NOW - timedelta(hours=2)
    narrow = Bounds(update_max_age=timedelta(hours=1))
    assert update_codes(old, bounds=narrow) == ["update_too_old"]
    with_submission_long_ago = validation_checks.update_time(
        occurred_at=NOW - timedelta(days=3), submitted_at=NOW - timedelta(days=4), last_update_at=None, now=NOW,
        bounds=Bounds())
    assert [r.code for r in with_submission_long_ago] == ["update_too_old"]
    assert update_codes(datetime(1900, 1, 1, tzinfo=timezone.utc), live=False) == []
    assert update_codes(NOW + timedelta(days=1), live=False) == ["update_in_future"]


# ---- imports of recorded history keep their own rules ------------------------------------------------------------

def test_for_an_import_the_new_bounds_are_warnings_and_no_infinite_coordinate_is_kept(jurisdictions):
    from civicflow.streams.validation import imports as validation_imports
    record = submission(submitted_at=datetime(2011, 3, 1, tzinfo=timezone.utc), lat=math.inf, long=-73.9,
                        address_string="<b>12 Main St</b>", due_at=datetime(2019, 3, 1, tzinfo=timezone.utc),
                        import_record={"agency": "DOT", "service_name": None, "districts": {}, "warnings": []})
    reasons = validation_checks.validate(submission=record, jurisdictions=jurisdictions,
                                         key=validation_checks.expected_key(record), now=NOW)
    fatal, warnings, imported = validation_imports.as_recorded(submission=record, reasons=reasons)
    assert fatal == []
    assert {w.code for w in warnings} == {"location_invalid", "text_html", "due_at_too_far"}
    assert imported["lat"] is None and imported["long"] is None, "a non-finite number never gets through"
