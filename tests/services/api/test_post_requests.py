"""POST requests: the record sent to the intake topic, the three answers (routed, rejected, token), and every
kind of bad input answered with the spec's errors while nothing is sent."""

import re
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest

from civicflow.services.api.params import MAX_BODY_BYTES
from tests.services.api.helpers import (BASE, W3C, descriptions, errors_of, insert, now, rejected_row,
                                        request_row)

URL = f"{BASE}/requests.json"
NOISE = {"api_key": "demo-web-key", "service_code": "noise-residential", "lat": "40.758", "long": "-73.9855",
         "attribute[descriptor]": "loud-music-party"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# ---- what is sent ----------------------------------------------------------------------------------------------

def test_a_valid_request_is_sent_once_with_the_posted_fields(client, sent):
    response = client.post(URL, data={**NOISE, "description": "Party next door", "email": "ana@example.org",
                                      "first_name": "Ana", "phone": "212-555-0100", "account_id": "acc-7",
                                      "media_url": "https://example.org/p.jpg", "idempotency_key": "app-7f3a",
                                      "language": "es-US", "address_string": "1560 Broadway"})
    assert response.status_code == 200
    [record] = sent.requests
    assert record["service_code"] == "noise-residential" and record["jurisdiction_id"] == "nyc"
    assert (record["lat"], record["long"]) == (40.758, -73.9855)
    assert record["attributes"] == {"descriptor": ["loud-music-party"]}
    assert record["description"] == "Party next door" and record["media_url"] == "https://example.org/p.jpg"
    assert (record["email"], record["first_name"], record["phone"]) == ("ana@example.org", "Ana", "212-555-0100")
    assert (record["idempotency_key"], record["language"]) == ("app-7f3a", "es-US")
    assert record["address_string"] == "1560 Broadway"
    assert abs(record["submitted_at"] - now()) < timedelta(seconds=5)
    assert sent.updates == []


@pytest.mark.parametrize(("key", "channel"), [("demo-web-key", "web"), ("demo-mobile-key", "mobile"),
                                              ("demo-callcentre-key", "phone")])
def test_the_channel_is_the_keys(client, sent, key, channel):
    assert client.post(URL, data={**NOISE, "api_key": key}).status_code == 200
    assert sent.requests[0]["channel"] == channel


def test_a_client_cannot_choose_its_channel(client, sent):
    response = client.post(URL, data={**NOISE, "channel": "kiosk"})
    assert response.status_code == 400 and "'channel'" in descriptions(response)
    assert sent.requests == []


def test_multivaluelist_answers_take_every_value(client, sent):
    form = list(NOISE.items()) + [("attribute[noise_times][]", "morning"), ("attribute[noise_times][]", "night")]
    assert client.post(URL, content=_encode(form), headers=FORM).status_code == 200
    assert sent.requests[0]["attributes"]["noise_times"] == ["morning", "night"]


def test_an_address_alone_is_a_location(client, sent):
    form = {k: v for k, v in NOISE.items() if k not in ("lat", "long")} | {"address_string": "1560 Broadway"}
    assert client.post(URL, data=form).status_code == 200
    assert (sent.requests[0]["lat"], sent.requests[0]["address_string"]) == (None, "1560 Broadway")


def test_the_key_may_come_in_the_query_string(client, sent):
    form = {k: v for k, v in NOISE.items() if k != "api_key"}
    assert client.post(URL, params={"api_key": "demo-web-key"}, data=form).status_code == 200
    assert len(sent.requests) == 1


# ---- the answers -----------------------------------------------------------------------------------------------

def test_a_token_while_the_read_model_does_not_show_the_request(client, sent):
    response = client.post(URL, data=NOISE)
    assert response.status_code == 200
    assert response.json() == [{"token": sent.requests[0]["request_id"]}]
    assert client.get(f"{BASE}/tokens/{sent.requests[0]['request_id']}.json").status_code == 404


def test_the_request_id_once_the_pipeline_routed_it(make_client, engine, sent):
    """The routed row appears 300 ms after the submission, from another thread, as the projection writes it."""
    expected = now().replace(microsecond=0) + timedelta(hours=8)

    def pipeline(record):
        row = request_row(request_id=record["request_id"], expected_at=expected)
        threading.Timer(0.3, insert, args=(engine,), kwargs={"requests_rows": [row]}).start()

    sent.on_submit = pipeline
    started = time.monotonic()
    response = make_client(post_wait_s=3.0).post(URL, data={**NOISE, "account_id": "acc-7"})
    assert time.monotonic() - started < 2.0  # answered as soon as the row appeared, not after the whole wait
    assert response.status_code == 200
    [answer] = response.json()
    assert answer["service_request_id"] == sent.requests[0]["request_id"]
    assert answer["account_id"] == "acc-7"
    assert "New York City Police Department" in answer["service_notice"]
    assert "Expected by" in answer["service_notice"]
    assert re.match(W3C, answer["expected_datetime"])
    assert answer["expected_datetime"][-6:] in ("-05:00", "-04:00")
    token = answer["service_request_id"]
    assert make_client().get(f"{BASE}/tokens/{token}.json").json() == [{"service_request_id": token, "token": token}]


def test_the_expected_time_is_estimated_from_the_sla_before_the_lifecycle_sets_it(client, engine, sent):
    """noise-residential is in NYC's police-quality-of-life policy: resolve within 8 hours (calendar time)."""
    sent.on_submit = lambda record: insert(engine, requests_rows=[
        request_row(request_id=record["request_id"], expected_at=None)])
    answer = client.post(URL, data=NOISE).json()[0]
    submitted = sent.requests[0]["submitted_at"]
    assert abs(datetime.fromisoformat(answer["expected_datetime"]) - (submitted + timedelta(hours=8))) \
        < timedelta(seconds=1)


def test_triage_names_no_agency(client, engine, sent):
    sent.on_submit = lambda record: insert(engine, requests_rows=[
        request_row(request_id=record["request_id"], status="triage", agency=None, expected_at=None)])
    answer = client.post(URL, data=NOISE).json()[0]
    assert answer["service_notice"].startswith("Received by New York City 311")


def test_a_rejection_by_the_pipeline_is_a_400_with_its_reasons(client, engine, sent):
    sent.on_submit = lambda record: insert(engine, requests_rows=[rejected_row(request_id=record["request_id"])])
    response = client.post(URL, data=NOISE)
    assert response.status_code == 400
    assert [e["description"].split(":")[0] for e in errors_of(response)] == [
        "location_outside_jurisdiction", "description_html"]
    assert len(sent.requests) == 1


def test_a_broker_failure_is_a_503_not_a_crash(client, sent):
    def fail(record):
        raise RuntimeError("broker down")

    sent.on_submit = fail
    response = client.post(URL, data=NOISE)
    assert response.status_code == 503
    assert errors_of(response)[0]["code"] == 503


def test_xml_answers_too(client, sent):
    response = client.post(f"{BASE}/requests.xml", data=NOISE)
    assert response.status_code == 200
    assert f"<token>{sent.requests[0]['request_id']}</token>".encode() in response.content


# ---- bad input: one error per problem, nothing sent -------------------------------------------------------------

def _without(*names):
    return {k: v for k, v in NOISE.items() if k not in names}


BAD = {
    "missing service_code": (_without("service_code"), ["service_code is required"]),
    "unknown service": ({**NOISE, "service_code": "no-such-service"}, ["unknown_service_code"]),
    "number attribute with text": ({"api_key": "demo-web-key", "service_code": "taxi-complaint", "lat": "40.758",
                                    "long": "-73.9855", "attribute[descriptor]": "driver-complaint",
                                    "attribute[fare_amount]": "twenty dollars"}, ["attribute_wrong_type"]),
    "datetime attribute with text": ({"api_key": "demo-web-key", "service_code": "taxi-complaint",
                                      "lat": "40.758", "long": "-73.9855",
                                      "attribute[descriptor]": "driver-complaint",
                                      "attribute[trip_datetime]": "last tuesday"}, ["attribute_wrong_type"]),
    "point in Philadelphia": ({**NOISE, "lat": "39.9526", "long": "-75.1652"}, ["location_outside_jurisdiction"]),
    "no location": (_without("lat", "long"), ["location_missing"]),
    "latitude alone": (_without("long"), ["location_incomplete"]),
    "latitude out of range": ({**NOISE, "lat": "140"}, ["location_invalid"]),
    "latitude not a number": ({**NOISE, "lat": "forty"}, ["lat must be a number"]),
    "missing required attribute": (_without("attribute[descriptor]"), ["attribute_missing"]),
    "value not in the list": ({**NOISE, "attribute[descriptor]": "fireworks"}, ["attribute_not_allowed"]),
    "unknown attribute": ({**NOISE, "attribute[colour]": "red"}, ["attribute_unknown"]),
    "malformed attribute name": ({**NOISE, "attribute[descriptor": "x"}, ["is not an attribute field"]),
    "html description": ({**NOISE, "description": "<script>alert(1)</script>"}, ["description_html"]),
    "description too long": ({**NOISE, "description": "x" * 4001}, ["description_too_long"]),
    "ftp media": ({**NOISE, "media_url": "ftp://example.org/p.jpg"}, ["media_url_invalid"]),
    "bad language": ({**NOISE, "language": "english!"}, ["language_invalid"]),
    "unknown jurisdiction": ({**NOISE, "jurisdiction_id": "atlantis"}, ["unknown_jurisdiction"]),
    "unknown field": ({**NOISE, "colour": "red"}, ["unknown field 'colour'"]),
    "request id chosen by the client": ({**NOISE, "request_id": "mine"}, ["unknown field 'request_id'"]),
}


@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_input_is_a_400_naming_the_problem_and_nothing_is_sent(client, sent, case, fmt):
    form, expected = BAD[case]
    response = client.post(f"{BASE}/requests.{fmt}", data=form)
    assert response.status_code == 400
    assert all(e["code"] == 400 for e in errors_of(response))
    for text in expected:
        assert text in descriptions(response)
    assert sent.requests == []


def test_several_problems_are_several_errors(client, sent):
    response = client.post(URL, data={"api_key": "demo-web-key", "service_code": "taxi-complaint",
                                      "lat": "39.9526", "long": "-75.1652", "attribute[fare_amount]": "abc",
                                      "description": "<b>help</b>", "media_url": "ftp://x", "colour": "red"})
    assert response.status_code == 400
    found = descriptions(response)
    for code in ("location_outside_jurisdiction", "attribute_missing", "attribute_wrong_type", "description_html",
                 "media_url_invalid", "unknown field 'colour'"):
        assert code in found
    assert len(errors_of(response)) == 6
    assert sent.requests == []


def test_a_field_given_twice_is_an_error(client, sent):
    form = list(NOISE.items()) + [("lat", "40.7")]
    response = client.post(URL, content=_encode(form), headers=FORM)
    assert response.status_code == 400 and "lat is given more than once" in descriptions(response)
    assert sent.requests == []


def test_several_values_for_a_single_value_attribute(client, sent):
    form = list(NOISE.items()) + [("attribute[descriptor]", "loud-talking")]
    response = client.post(URL, content=_encode(form), headers=FORM)
    assert response.status_code == 400 and "attribute_multiple_values" in descriptions(response)
    assert sent.requests == []


@pytest.mark.parametrize("form", [_without("api_key"), {**NOISE, "api_key": "stolen"}, {**NOISE, "api_key": ""}])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_missing_or_unknown_key_is_a_403(client, sent, form, fmt):
    response = client.post(f"{BASE}/requests.{fmt}", data=form)
    assert response.status_code == 403
    assert [e["code"] for e in errors_of(response)] == [403]
    assert sent.requests == []


def test_a_bad_key_is_a_403_even_when_the_rest_is_wrong_too(client, sent):
    response = client.post(URL, data={"api_key": "stolen", "service_code": "no-such-service"})
    assert response.status_code == 403
    assert sent.requests == []


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (b"api_key=demo-web-key&description=%zz", "application/x-www-form-urlencoded", "two hex digits"),
    (b"api_key=demo-web-key&description=%ff%fe", "application/x-www-form-urlencoded", "not UTF-8"),
    (b"api_key=demo-web-key&description=\xff\xfe", "application/x-www-form-urlencoded", "not UTF-8"),
    (b"api_key=demo-web-key&justaword", "application/x-www-form-urlencoded", "has no '='"),
    (b'{"api_key": "demo-web-key"}', "application/json", "application/x-www-form-urlencoded"),
    (b"api_key=demo-web-key", "application/x-www-form-urlencoded; charset=latin-1", "must be UTF-8"),
    (b"api_key=demo-web-key", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"),
    (b"", "", "application/x-www-form-urlencoded"),
])
def test_malformed_bodies_are_400s(client, sent, body, content_type, expected):
    response = client.post(URL, content=body, headers={"Content-Type": content_type} if content_type else {})
    assert response.status_code == 400
    assert expected in descriptions(response)
    assert sent.requests == []


def test_an_oversized_body_is_a_400(client, sent):
    form = {**NOISE, "description": "x" * MAX_BODY_BYTES}
    response = client.post(URL, data=form)
    assert response.status_code == 400
    assert f"larger than {MAX_BODY_BYTES} bytes" in descriptions(response)
    assert sent.requests == []


def test_an_oversized_body_without_content_length_is_a_400(client, sent):
    def chunks():
        yield _encode(list(NOISE.items())).encode()
        for _ in range(20):
            yield b"&description=" + b"x" * 8192

    response = client.post(URL, content=chunks(), headers=FORM)
    assert response.status_code == 400
    assert "larger than" in descriptions(response)
    assert sent.requests == []


def _encode(pairs) -> str:
    return urlencode(pairs)
