"""Every endpoint in both formats, compared in shape (element names and nesting, JSON keys) with the responses
real cities' Open311 servers gave (shared/data/open311-fixtures)."""

import re
import xml.etree.ElementTree as ET

import pytest

from civicflow.streams.events import ids
from tests.services.api.helpers import (BASE, REQUEST_FIELDS, W3C, errors_of, event_row, fixture_json, fixture_xml,
                                        insert, json_shape, request_row, xml_shape)

POST_FORM = {"api_key": "demo-web-key", "service_code": "noise-residential", "lat": "40.758", "long": "-73.9855",
             "attribute[descriptor]": "loud-music-party"}


def xml_of(response) -> ET.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def json_of(response):
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


# ---- discovery -------------------------------------------------------------------------------------------------

def test_discovery_xml_has_the_shape_of_washington_dcs(client):
    response = client.get(f"{BASE}/discovery.xml")
    assert response.status_code == 200
    assert xml_shape(xml_of(response)) == xml_shape(fixture_xml("node-open311-oiva/discovery-dc.xml"))


def test_discovery_json_has_the_shape_of_bostons(client):
    document = json_of(client.get(f"{BASE}/discovery.json"))
    assert json_shape(document) == json_shape(fixture_json("node-open311-oiva/discovery-boston.json"))
    endpoint = document["endpoints"][0]
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert re.match(W3C, document["changeset"])


# ---- services --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["node-open311-oiva/dc-services.xml", "ruby-open311/services.xml"])
def test_services_xml_has_the_shape_of_real_service_lists(client, fixture):
    root = xml_of(client.get(f"{BASE}/services.xml"))
    assert xml_shape(root) == xml_shape(fixture_xml(fixture))
    assert len(root) == 194
    noise = next(s for s in root if s.findtext("service_code") == "noise-residential")
    assert noise.findtext("metadata") == "true"
    assert noise.findtext("keywords") == "noise, residential"
    assert noise.findtext("group") == "Noise"


def test_services_json_has_the_keys_of_a_real_service_list(client):
    document = json_of(client.get(f"{BASE}/services.json"))
    assert json_shape(document) == json_shape(fixture_json("open311status/service_list.json"))
    assert {type(s["metadata"]) for s in document} == {bool}
    assert isinstance(document[0]["keywords"], str)


def test_services_with_the_jurisdiction_id_named(client):
    assert client.get(f"{BASE}/services.json", params={"jurisdiction_id": "nyc"}).status_code == 200
    response = client.get(f"{BASE}/services.json", params={"jurisdiction_id": "atlantis"})
    assert response.status_code == 400
    assert "atlantis" in errors_of(response)[0]["description"]


# ---- service definition ----------------------------------------------------------------------------------------

def test_service_definition_xml_has_the_shape_of_washington_dcs(client):
    root = xml_of(client.get(f"{BASE}/services/taxi-complaint.xml"))
    assert xml_shape(root) == xml_shape(fixture_xml("node-open311-oiva/dc-services-S0301.xml"))
    orders = [int(a.findtext("order")) for a in root.find("attributes")]
    assert orders == sorted(orders)
    fare = next(a for a in root.find("attributes") if a.findtext("code") == "fare_amount")
    assert fare.findtext("datatype") == "number" and fare.findtext("required") == "false"
    assert fare.findtext("variable") == "true"


def test_service_definition_attributes_have_the_fields_of_san_franciscos(client):
    ours = xml_of(client.get(f"{BASE}/services/noise-residential.xml")).find("attributes/attribute")
    # San Francisco's recorded definition puts <attribute> directly under <service_definition>; the spec and
    # Washington DC wrap them in <attributes>. The attribute itself is the same in all three.
    theirs = fixture_xml("ruby-open311/service_definition.xml").find("attribute")
    assert {c.tag for c in ours} == {c.tag for c in theirs}
    assert {c.tag for c in ours.find("values/value")} == {c.tag for c in theirs.find("values/value")}


def test_service_definition_json_mirrors_the_xml(client):
    document = json_of(client.get(f"{BASE}/services/noise-residential.json"))
    dc = fixture_xml("node-open311-oiva/dc-services-S0301.xml")
    assert set(document) == {c.tag for c in dc}
    assert set(document["attributes"][0]) == {c.tag for c in dc.find("attributes/attribute")}
    noise_times = next(a for a in document["attributes"] if a["code"] == "noise_times")
    assert noise_times["datatype"] == "multivaluelist"
    assert {"key": "night", "name": "Night (10pm-6am)"} in noise_times["values"]
    assert noise_times["required"] is False and isinstance(noise_times["order"], int)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_is_404_in_the_spec_format(client, fmt):
    response = client.get(f"{BASE}/services/no-such-service.{fmt}")
    assert response.status_code == 404
    assert errors_of(response) == [{"code": 404,
                                    "description": "Service not found with service_code 'no-such-service'"}]


# ---- requests --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["ruby-open311/service_requests.xml", "open311status/requests_many.xml",
                                     "node-open311-oiva/service-requests.xml"])
def test_requests_xml_has_the_shape_of_real_request_lists(client, engine, fixture):
    insert(engine, requests_rows=[request_row(), request_row(agency="DOT", service_code="street-sign-missing")])
    root = xml_of(client.get(f"{BASE}/requests.xml"))
    assert len(root) == 2
    assert xml_shape(root) == xml_shape(fixture_xml(fixture))
    assert [c.tag for c in root[0]] == REQUEST_FIELDS


def test_requests_json_has_the_keys_of_chicagos_and_every_spec_field(client, engine):
    insert(engine, requests_rows=[request_row()])
    document = json_of(client.get(f"{BASE}/requests.json"))
    chicago = json_shape(fixture_json("open311status/service_requests.json"))["$[]"]
    assert chicago <= set(document[0])
    assert list(document[0]) == REQUEST_FIELDS
    assert isinstance(document[0]["lat"], float) and isinstance(document[0]["long"], float)


@pytest.mark.parametrize("fixture", ["ruby-open311/get_service_request.xml", "open311status/requests_single.xml",
                                     "node-open311-oiva/service-request.xml"])
def test_one_request_xml_has_the_shape_of_real_ones(client, engine, fixture):
    row = request_row()
    insert(engine, requests_rows=[row])
    root = xml_of(client.get(f"{BASE}/requests/{row['request_id']}.xml"))
    assert xml_shape(root) == xml_shape(fixture_xml(fixture))


def test_one_request_json_is_a_list_of_one(client, engine):
    row = request_row()
    insert(engine, requests_rows=[row])
    document = json_of(client.get(f"{BASE}/requests/{row['request_id']}.json"))
    assert [r["service_request_id"] for r in document] == [row["request_id"]]
    assert list(document[0]) == REQUEST_FIELDS


def test_empty_request_list_has_the_shape_of_an_empty_real_one(client):
    root = xml_of(client.get(f"{BASE}/requests.xml"))
    assert xml_shape(root) == xml_shape(fixture_xml("ruby-open311/service_requests_empty.xml"))
    assert json_of(client.get(f"{BASE}/requests.json")) == []


def test_extensions_add_notes_and_extended_attributes_in_both_formats(client, engine):
    row = request_row()
    insert(engine, requests_rows=[row], events_rows=[event_row(row["request_id"])])
    root = xml_of(client.get(f"{BASE}/requests.xml", params={"extensions": "true"}))
    shape = xml_shape(root)
    assert shape["/service_requests/request"] == set(REQUEST_FIELDS) | {"extended_attributes", "notes"}
    assert shape["/service_requests/request/notes"] == {"note"}
    assert shape["/service_requests/request/notes/note"] == {"datetime", "type", "summary", "status",
                                                             "description"}
    assert shape["/service_requests/request/extended_attributes"] == {"channel", "duplicate_of"}
    document = json_of(client.get(f"{BASE}/requests.json", params={"extensions": "true"}))
    assert set(document[0]["notes"][0]) == shape["/service_requests/request/notes/note"]


# ---- POST requests and tokens ----------------------------------------------------------------------------------

def test_post_token_answer_has_the_shape_of_bostons(client):
    root = xml_of(client.post(f"{BASE}/requests.xml", data=POST_FORM))
    assert xml_shape(root) == xml_shape(fixture_xml("node-open311-oiva/boston-submitrequest-token.xml"))
    document = json_of(client.post(f"{BASE}/requests.json", data=POST_FORM))
    assert json_shape(document) == {"$[]": {"token"}}


def _pipeline_routes(engine, sent, **overrides):
    def route(record):
        insert(engine, requests_rows=[request_row(request_id=record["request_id"], **overrides)])
    sent.on_submit = route


def test_post_answer_has_the_shape_of_san_franciscos(client, engine, sent):
    # a duplicate has no expected time of its own: exactly the fields San Francisco answered with
    _pipeline_routes(engine, sent, duplicate_of="4c7c3b9e", expected_at=None)
    root = xml_of(client.post(f"{BASE}/requests.xml", data=POST_FORM))
    assert xml_shape(root) == xml_shape(fixture_xml("ruby-open311/post_service_request.xml"))


def test_post_answer_adds_expected_datetime_when_known(client, engine, sent):
    _pipeline_routes(engine, sent)
    sf = xml_shape(fixture_xml("ruby-open311/post_service_request.xml"))
    root = xml_of(client.post(f"{BASE}/requests.xml", data=POST_FORM))
    assert xml_shape(root)["/service_requests/request"] == sf["/service_requests/request"] | {"expected_datetime"}
    document = json_of(client.post(f"{BASE}/requests.json", data=POST_FORM))
    assert set(document[0]) == sf["/service_requests/request"] | {"expected_datetime"}


@pytest.mark.parametrize("fixture", ["node-open311-oiva/token.xml", "ruby-open311/request_id_from_token.xml"])
def test_token_lookup_has_the_shape_of_real_ones(client, engine, fixture):
    row = request_row()
    insert(engine, requests_rows=[row])
    root = xml_of(client.get(f"{BASE}/tokens/{row['request_id']}.xml"))
    assert xml_shape(root) == xml_shape(fixture_xml(fixture))
    document = json_of(client.get(f"{BASE}/tokens/{row['request_id']}.json"))
    assert document == [{"service_request_id": row["request_id"], "token": row["request_id"]}]


# ---- errors ----------------------------------------------------------------------------------------------------

def test_not_found_has_the_shape_and_wording_of_the_spec(client):
    response = client.get(f"{BASE}/requests/not-an-id.xml")
    assert response.status_code == 404
    ours, theirs = xml_of(response), fixture_xml("ruby-open311/get_service_request_not_found.xml")
    assert xml_shape(ours) == xml_shape(theirs)
    assert ours.findtext("error/code") == "404"
    assert ours.findtext("error/description").startswith("Service request not found with id")


def test_bad_request_has_the_shape_of_bostons_error(client):
    response = client.post(f"{BASE}/requests.xml", data={**POST_FORM, "service_code": "no-such-service"})
    assert response.status_code == 400
    assert xml_shape(xml_of(response)) == xml_shape(
        fixture_xml("node-open311-oiva/boston-err-submitrequest-base_is_duplicate.xml"))


def test_json_errors_are_a_list_of_code_and_description(client):
    response = client.get(f"{BASE}/requests/not-an-id.json")
    assert json_of(response) == [{"code": 404, "description": "Service request not found with id 'not-an-id'"}]


# ---- servicerequestupdates (FixMyStreet) ------------------------------------------------------------------------

FMS_UPDATE = {"update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"}


def test_updates_have_fixmystreets_shape_in_both_formats(client, engine):
    row = request_row()
    insert(engine, requests_rows=[row], events_rows=[event_row(row["request_id"], status="resolved",
                                                               open311_status="closed", note="Done")])
    shape = xml_shape(xml_of(client.get(f"{BASE}/servicerequestupdates.xml")))
    assert shape["/service_request_updates"] == {"request_update"}
    assert shape["/service_request_updates/request_update"] == FMS_UPDATE
    document = json_of(client.get(f"{BASE}/servicerequestupdates.json"))
    assert set(document[0]) == FMS_UPDATE
    assert document[0]["status"] == "FIXED" and document[0]["description"] == "Done"


def test_posted_update_answer_has_fixmystreets_shape(client, engine, sent):
    """Once the lifecycle has accepted the update, FixMyStreet's shape exactly; while it has not decided yet, the
    same with a `token` to poll (as POST requests answers)."""
    row = request_row()
    insert(engine, requests_rows=[row])
    form = {"api_key": "demo-nypd-agency-key", "service_request_id": row["request_id"], "status": "FIXED"}
    undecided = xml_of(client.post(f"{BASE}/servicerequestupdates.xml", data=form))
    sent.on_update = lambda record: insert(engine, events_rows=[event_row(
        record["request_id"], kind="transition", status="resolved",
        event_id=ids.uuid5(f"{record['request_id']}/lifecycle/update/{record['update_id']}"))])
    decided = xml_of(client.post(f"{BASE}/servicerequestupdates.xml", data={**form, "update_id": "second"}))
    assert xml_shape(decided) == {"/service_request_updates": {"request_update"},
                                  "/service_request_updates/request_update": {"update_id"},
                                  "/service_request_updates/request_update/update_id": set()}
    assert xml_shape(undecided)["/service_request_updates/request_update"] == {"update_id", "token"}
