"""Imports of recorded history: what live intake refuses is routed with warnings, live intake stays strict."""

from datetime import timedelta

import pytest

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.pipeline.stages import Pipeline
from civicflow.streams.settings import Settings
from tests import factories
from tests.streams.pipeline import helpers

TOPICS = contract_topics.Topics()
NOW = helpers.NOW
CODEC = contract_codec.from_url(None)


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


def _pipeline(jurisdictions, codec=CODEC) -> Pipeline:
    return helpers.pipeline(jurisdictions, codec=codec, changelog_topic=None, topics=TOPICS)


def _submission(**changes) -> dict:
    """An imported row of a service the catalog does not know, without a location, due before it was made."""
    return factories.submission(**{
        "service_code": "chalk-drawing", "channel": "phone", "submitted_at": NOW - timedelta(hours=1), "lat": None,
        "long": None, "attributes": {}, "description": "no heat", "due_at": NOW - timedelta(hours=2),
        "external_id": "40611598",
        "import_record": {"agency": "HPD", "service_name": "CHALK DRAWING",
                          "districts": {"borough": "Bronx", "community_district": "205", "ward": "9"},
                          "warnings": [{"code": "closed_before_created", "message": "m", "field": "Closed"}]},
        **changes})


def _run(pipeline, record):
    key = f"{record['jurisdiction_id']}:{record['service_code']}".encode()
    outcome = helpers.run_one(pipeline, key=key, value=CODEC.encode(contract_schemas.SUBMITTED, record),
                              source=("in", 0, 1))
    decoded = [(e.topic, CODEC.decode(CODEC.subject_of(e.value), e.value)) for e in outcome.emits]
    return outcome, decoded


def test_an_import_outside_the_catalog_without_location_is_routed_to_its_agency_with_warnings(jurisdictions):
    outcome, emitted = _run(_pipeline(jurisdictions), _submission())
    assert outcome.kind == "routed"
    routed = dict(emitted)[TOPICS.routed]
    assert routed["routing"]["agency"] == "HPD" and routed["routing"]["rule"] == "recorded_agency"
    assert routed["request"]["service_name"] == "CHALK DRAWING"
    assert {w["code"] for w in routed["warnings"]} == {"closed_before_created", "unknown_service_code",
                                                       "location_missing", "due_before_submission"}
    assert routed["request"]["due_at"] is None, "a due date not after submission is ignored"
    assert routed["enrichment"]["districts"] == {"borough": "Bronx", "community_district": "205"}, (
        "the export's districts, for the layers the jurisdiction has")
    assert TOPICS.work(jurisdiction_id="nyc", agency="HPD") in dict(emitted)


def test_the_same_submission_live_is_rejected_with_every_reason(jurisdictions):
    outcome, emitted = _run(_pipeline(jurisdictions), _submission(import_record=None))
    assert outcome.kind == "rejected"
    assert set(outcome.reasons) == {"unknown_service_code", "location_missing", "due_before_submission"}


def test_an_import_point_outside_the_city_keeps_no_point_and_the_recorded_districts(jurisdictions):
    record = _submission(service_code="street-sign-missing", lat=39.0, long=-77.0, due_at=None,
                         attributes={"descriptor": ["stop"]})
    outcome, emitted = _run(_pipeline(jurisdictions), record)
    routed = dict(emitted)[TOPICS.routed]
    assert outcome.kind == "routed" and routed["request"]["lat"] is None
    assert "location_outside_jurisdiction" in {w["code"] for w in routed["warnings"]}
    assert routed["enrichment"]["districts"]["borough"] == "Bronx"


def test_what_no_request_can_be_made_of_stays_fatal_for_imports(jurisdictions):
    outcome, _ = _run(_pipeline(jurisdictions), _submission(request_id=" "))
    assert outcome.kind == "rejected" and outcome.reasons == ("request_id_missing",)
    outcome, _ = _run(_pipeline(jurisdictions), _submission(jurisdiction_id="atlantis"))
    assert outcome.kind == "rejected" and "unknown_jurisdiction" in outcome.reasons


def test_live_submissions_carry_no_warnings(jurisdictions):
    record = _submission(import_record=None, service_code="street-sign-missing", lat=40.6608, long=-73.9986,
                         due_at=None, attributes={"descriptor": ["stop"]})
    outcome, emitted = _run(_pipeline(jurisdictions), record)
    assert outcome.kind == "routed" and dict(emitted)[TOPICS.routed]["warnings"] == []


def test_an_import_drops_a_free_text_value_live_intake_would_refuse(jurisdictions):
    record = _submission(address_string="12 Main St\x00<script>", due_at=None)
    outcome, emitted = _run(_pipeline(jurisdictions), record)
    routed = dict(emitted)[TOPICS.routed]
    assert outcome.kind == "routed" and routed["request"]["address_string"] is None
    assert {"text_html", "text_control_characters"} & {w["code"] for w in routed["warnings"]}
