"""Hostile and odd input never reaches a 500 (the test client re-raises any server error), every error is in the
spec's format for the suffix asked, and the OpenAPI description documents the JSON side."""

import xml.etree.ElementTree as ET

import pytest

from tests.services.api.helpers import BASE, errors_of, insert, request_row

ODD_GETS = [
    "requests.json?page=-1", "requests.json?page=%00", "requests.json?start_date=%00",
    "requests.json?service_request_id=%ff", "requests.json?service_code=%27%20OR%201%3D1%20--",
    "requests.json?status=", "requests.json?extensions=", "requests.json?start_date=2025-01-01T25:00:00Z",
    "requests.json?start_date=2025-01-01T00:00:00%2B99:00", "requests.json?start_date=9999-12-31T23:59:59Z",
    "requests.json?end_date=0001-01-01", "requests.json?updated_before=%F0%9F%92%A5",
    "requests.json?page_size=-0", "requests.json?page=%2B1", "requests.json?jurisdiction_id=%00",
    "requests/" + "x" * 5000 + ".json", "requests/%00.xml", "requests/a%2Fb.json", "requests/%ff.json",
    "requests/..json", "services/%00.xml", "services/..%2F..%2Fetc%2Fpasswd.json", "services/.json",
    "tokens/%27.json", "requests.json.xml", "requests.", "requests", "requests.html", "requests.JS%00ON",
    "discovery.yaml", "servicerequestupdates.json?start_date=%00", "servicerequestupdates.csv", "", "nothing.json",
]


@pytest.mark.parametrize("path", ODD_GETS)
def test_odd_gets_are_answered_with_errors_or_data(client, path):
    response = client.get(f"{BASE}/{path}")
    assert response.status_code in (200, 400, 404), response.text
    if response.status_code != 200:
        assert all(e["code"] == response.status_code for e in errors_of(response))


@pytest.mark.parametrize("fmt", ["json", "xml", "JSON", "Xml"])
def test_the_suffix_is_case_insensitive(client, fmt):
    response = client.get(f"{BASE}/services.{fmt}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json" if fmt.lower() == "json" else "text/xml")


def test_errors_come_in_the_format_of_the_suffix(client):
    assert client.get(f"{BASE}/requests/nope.json").headers["content-type"].startswith("application/json")
    assert client.get(f"{BASE}/requests/nope.xml").headers["content-type"].startswith("text/xml")
    assert client.get(f"{BASE}/requests.html").headers["content-type"].startswith("text/xml")


@pytest.mark.parametrize(("method", "path"), [("PUT", "requests.json"), ("DELETE", "requests/1.xml"),
                                              ("POST", "services.json"), ("PATCH", "servicerequestupdates.xml")])
def test_wrong_methods_are_400s(client, method, path):
    response = client.request(method, f"{BASE}/{path}")
    assert response.status_code == 400
    assert "not allowed" in errors_of(response)[0]["description"]


ODD_POSTS = [
    {"api_key": "demo-web-key", "service_code": "noise-residential", "lat": "nan", "long": "-73.98"},
    {"api_key": "demo-web-key", "service_code": "noise-residential", "lat": "inf", "long": "-inf"},
    {"api_key": "demo-web-key", "service_code": "noise-residential", "lat": "1e999", "long": "1e999"},
    {"api_key": "demo-web-key", "service_code": "noise-residential", "lat": "  ", "long": "\t"},
    {"api_key": "demo-web-key", "service_code": "noise-residential", "attribute[]": "x"},
    {"api_key": "demo-web-key", "service_code": "noise-residential", "attribute[a][b]": "x"},
    {"api_key": "demo-web-key", "service_code": "\x00", "lat": "40.7", "long": "-73.9"},
    {"api_key": "demo-web-key", "service_code": "noise-residential", "jurisdiction_id": "\u2603"},
    {"api_key": "d\u00e9mo", "service_code": "noise-residential"},
    {"api_key": "demo-web-key", "service_code": "noise-residential", "description": "\x00\x07" * 100,
     "lat": "40.758", "long": "-73.9855", "attribute[descriptor]": "<loud>"},
    {"api_key": "demo-web-key", "service_code": "consumer-complaint", "attribute[amount_disputed]": "1,000",
     "address_string": "1 Centre St"},
    {"api_key": "demo-web-key", "service_code": "taxi-complaint", "attribute[trip_datetime]": "2025-02-30T10:00",
     "address_string": "JFK"},
]


@pytest.mark.parametrize("form", ODD_POSTS)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_odd_posts_are_answered_with_errors(client, sent, form, fmt):
    response = client.post(f"{BASE}/requests.{fmt}", data=form)
    assert response.status_code in (400, 403)
    assert errors_of(response)
    assert sent.requests == []


def test_many_unknown_fields_within_the_size_limit(client, sent):
    body = "api_key=demo-web-key&" + "&".join(f"f{i}=1" for i in range(3000))
    response = client.post(f"{BASE}/requests.xml", content=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and sent.requests == []


def test_text_xml_cannot_carry_is_replaced_in_xml_answers(client, engine):
    row = request_row(description="bell\x07 and nul\x00 inside", status_notes="\ufffe")
    insert(engine, requests_rows=[row])
    response = client.get(f"{BASE}/requests/{row['request_id']}.xml")
    root = ET.fromstring(response.content)  # parses: no character XML 1.0 forbids
    assert root.findtext("request/description") == "bell\ufffd and nul\ufffd inside"
    assert client.get(f"{BASE}/requests/{row['request_id']}.json").json()[0]["description"] == \
        "bell\x07 and nul\x00 inside"


# ---- OpenAPI ---------------------------------------------------------------------------------------------------

def test_openapi_documents_every_json_route_with_a_summary(client):
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    expected = {f"{BASE}/{p}.json": methods for p, methods in [
        ("discovery", {"get"}), ("services", {"get"}), ("services/{service_code}", {"get"}),
        ("requests", {"get", "post"}), ("requests/{service_request_id}", {"get"}), ("tokens/{token}", {"get"}),
        ("servicerequestupdates", {"get", "post"})]}
    assert {path: set(operations) for path, operations in paths.items()} == expected
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation["summary"], (method, path)
            assert {"200", "400", "404"} <= set(operation["responses"])
    post = paths[f"{BASE}/requests.json"]["post"]
    fields = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]
    assert {"api_key", "service_code", "lat", "long", "attribute[code]", "idempotency_key"} <= set(fields)
    search = {p["name"] for p in paths[f"{BASE}/requests.json"]["get"]["parameters"]}
    assert {"service_request_id", "service_code", "start_date", "end_date", "status", "page", "page_size",
            "updated_after", "updated_before", "extensions", "jurisdiction_id"} == search


def test_openapi_declares_the_api_key_and_the_errors_really_answered(client):
    """Issue 19: the document had FastAPI's 422 and no api_key; the API answers the spec's error lists."""
    document = client.get(f"{BASE}/openapi.json").json()
    assert document["components"]["securitySchemes"]["api_key"] == {
        **document["components"]["securitySchemes"]["api_key"], "type": "apiKey", "name": "api_key"}
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])
    error_list = {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            expected = {"400", "404", "500"} | ({"403", "503"} if method == "post" else set())
            assert expected <= set(responses), (method, path)
            for status in expected:
                schema = responses[status]["content"]["application/json"]["schema"]
                assert {k: schema[k] for k in error_list} == error_list, (method, path, status)
            if method == "post":
                assert operation["security"] == [{"api_key": []}]
                body = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
                assert "api_key" in body["required"]


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "requests.json?start_date=yesterday", 400), ("get", "requests/nope.json", 404),
    ("post", "requests.json", 403), ("post", "servicerequestupdates.json", 403)])
def test_the_documented_error_body_is_what_comes(client, method, path, status):
    response = client.request(method.upper(), f"{BASE}/{path}",
                              data={"service_code": "x"} if method == "post" else None)
    assert response.status_code == status
    body = response.json()
    assert isinstance(body, list) and all(set(e) == {"code", "description"} and e["code"] == status for e in body)
