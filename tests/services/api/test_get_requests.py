"""GET requests, requests/{id} and tokens/{token}: filters, the default window, paging, extensions, the
fields as the spec names them, and errors for bad parameters."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.services.api.helpers import (BASE, CONTACT_FIELDS, W3C, descriptions, errors_of, event_row, insert, now,
                                        rejected_row, request_row)

URL = f"{BASE}/requests.json"


def ids_of(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["service_request_id"] for r in response.json()]


def test_fields_are_named_and_filled_as_the_spec_says(client, engine):
    row = request_row(requested_at=datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc),
                      updated_at=datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc),
                      expected_at=datetime(2026, 7, 2, 12, 0, tzinfo=timezone.utc), status="in_progress",
                      status_notes="Officers on the way", media_url="https://example.org/p.jpg")
    insert(engine, requests_rows=[row])
    [item] = client.get(f"{BASE}/requests/{row['request_id']}.json").json()
    assert item["status"] == "open"
    assert item["status_notes"] == "Officers on the way"
    assert item["agency_responsible"] == "New York City Police Department"
    assert item["service_name"] == "Noise - Residential" and item["service_code"] == "noise-residential"
    assert item["requested_datetime"] == "2026-01-15T07:00:00-05:00"  # winter: EST
    assert item["updated_datetime"] == "2026-07-01T08:00:00-04:00"    # summer: EDT
    assert item["expected_datetime"] == "2026-07-02T08:00:00-04:00"
    assert (item["lat"], item["long"], item["address"], item["zipcode"]) == (40.758, -73.9855, "Times Square",
                                                                            "10036")
    assert item["media_url"] == "https://example.org/p.jpg"
    assert "New York City Police Department" in item["service_notice"]
    assert not CONTACT_FIELDS & set(item)


def test_xml_dates_and_numbers(client, engine):
    row = request_row()
    insert(engine, requests_rows=[row])
    text = client.get(f"{BASE}/requests/{row['request_id']}.xml").text
    requested = re.search(r"<requested_datetime>(.*?)</requested_datetime>", text).group(1)
    assert re.match(W3C, requested)
    assert "<lat>40.758</lat>" in text and "<long>-73.9855</long>" in text
    assert "<status>open</status>" in text


def test_default_window_is_the_last_90_days(client, engine):
    recent, old = request_row(), request_row(requested_at=now() - timedelta(days=91))
    insert(engine, requests_rows=[recent, old])
    assert ids_of(client.get(URL)) == [recent["request_id"]]


def test_newest_first(client, engine):
    rows = [request_row(requested_at=now() - timedelta(hours=h)) for h in (5, 1, 3)]
    insert(engine, requests_rows=rows)
    assert ids_of(client.get(URL)) == [rows[1]["request_id"], rows[2]["request_id"], rows[0]["request_id"]]


def test_start_and_end_dates_bound_the_requested_time(client, engine):
    inside = request_row(requested_at=datetime(2025, 3, 10, 15, 0, tzinfo=timezone.utc))
    before = request_row(requested_at=datetime(2025, 3, 1, 15, 0, tzinfo=timezone.utc))
    after = request_row(requested_at=datetime(2025, 4, 1, 15, 0, tzinfo=timezone.utc))
    insert(engine, requests_rows=[inside, before, after])
    response = client.get(URL, params={"start_date": "2025-03-05T00:00:00-05:00",
                                       "end_date": "2025-03-20T00:00:00Z"})
    assert ids_of(response) == [inside["request_id"]]
    # a start alone: the 90 days from it; a date alone is midnight in New York
    assert set(ids_of(client.get(URL, params={"start_date": "2025-03-05"}))) == {inside["request_id"],
                                                                               after["request_id"]}


def test_status_and_service_code_filters(client, engine):
    open_noise = request_row()
    closed_noise = request_row(status="closed", open311_status="closed")
    sign = request_row(service_code="street-sign-missing", agency="DOT")
    insert(engine, requests_rows=[open_noise, closed_noise, sign])
    assert ids_of(client.get(URL, params={"status": "closed"})) == [closed_noise["request_id"]]
    assert set(ids_of(client.get(URL, params={"status": "open,closed"}))) == {r["request_id"] for r in
                                                                             (open_noise, closed_noise, sign)}
    assert ids_of(client.get(URL, params={"service_code": "street-sign-missing"})) == [sign["request_id"]]
    assert set(ids_of(client.get(URL, params={"service_code": "street-sign-missing,noise-residential",
                                              "status": "open"}))) == {open_noise["request_id"], sign["request_id"]}
    assert ids_of(client.get(URL, params={"service_code": "no-such-service"})) == []


def test_service_request_ids_override_every_other_filter(client, engine):
    old = request_row(requested_at=now() - timedelta(days=400))
    other = request_row()
    insert(engine, requests_rows=[old, other])
    response = client.get(URL, params={"service_request_id": f"{old['request_id']},unknown",
                                       "status": "closed", "service_code": "street-sign-missing"})
    assert ids_of(response) == [old["request_id"]]


def test_updated_after_and_before(client, engine):
    early = request_row(updated_at=now() - timedelta(days=3))
    late = request_row(updated_at=now() - timedelta(hours=1))
    insert(engine, requests_rows=[early, late])
    since = (now() - timedelta(days=1)).isoformat()
    assert ids_of(client.get(URL, params={"updated_after": since})) == [late["request_id"]]
    assert ids_of(client.get(URL, params={"updated_before": since})) == [early["request_id"]]


def test_pages(client, engine):
    rows = [request_row(requested_at=now() - timedelta(minutes=m)) for m in range(5)]
    insert(engine, requests_rows=rows)
    pages = [ids_of(client.get(URL, params={"page": p, "page_size": 2})) for p in (1, 2, 3, 4)]
    assert pages == [[rows[0]["request_id"], rows[1]["request_id"]], [rows[2]["request_id"], rows[3]["request_id"]],
                     [rows[4]["request_id"]], []]


def test_rejected_submissions_are_not_listed_but_can_be_looked_up(client, engine):
    rejected = rejected_row()
    insert(engine, requests_rows=[rejected])
    assert ids_of(client.get(URL)) == []
    [item] = client.get(f"{BASE}/requests/{rejected['request_id']}.json").json()
    assert item["status"] == "closed" and item["status_notes"].startswith("Not accepted")
    assert item["agency_responsible"] is None and item["service_notice"] is None


def test_extensions_show_the_history_and_the_channel(client, engine):
    row = request_row(channel="mobile", status="resolved", open311_status="closed")
    start = now() - timedelta(hours=1)
    history = [
        event_row(row["request_id"], kind="routed", status="open", note=None, occurred_at=start),
        event_row(row["request_id"], kind="opened", status="open", note=None, occurred_at=start),
        event_row(row["request_id"], kind="sla_warning", status="open", note=None, goal="resolve",
                  occurred_at=start + timedelta(minutes=5)),
        event_row(row["request_id"], kind="transition", status="in_progress", note="On the way",
                  occurred_at=start + timedelta(minutes=10)),
        event_row(row["request_id"], kind="update_rejected", status=None, note="Not accepted: illegal",
                  occurred_at=start + timedelta(minutes=15)),
        event_row(row["request_id"], kind="transition", status="resolved", open311_status="closed",
                  note="Music turned down", occurred_at=start + timedelta(minutes=20)),
    ]
    insert(engine, requests_rows=[row], events_rows=history)
    [item] = client.get(URL, params={"extensions": "true"}).json()
    assert item["extended_attributes"]["channel"] == "mobile"
    assert [(n["type"], n["status"], n["description"]) for n in item["notes"]] == [
        ("opened", "open", None), ("activity", "in_progress", "On the way"),
        ("closed", "resolved", "Music turned down")]
    assert item["notes"][1]["summary"] == "In progress (New York City Police Department)"
    assert all(re.match(W3C, n["datetime"]) for n in item["notes"])
    [plain] = client.get(URL).json()
    assert "notes" not in plain and "extended_attributes" not in plain


def test_extensions_show_why_a_submission_was_rejected(client, engine):
    rejected = rejected_row()
    insert(engine, requests_rows=[rejected])
    [item] = client.get(f"{BASE}/requests/{rejected['request_id']}.json", params={"extensions": "true"}).json()
    assert [(n["type"], n["summary"]) for n in item["notes"]] == [
        ("rejected", "location_outside_jurisdiction"), ("rejected", "description_html")]


def test_a_request_of_another_jurisdiction_is_not_found_under_this_one(client, engine):
    row = request_row(jurisdiction_id="springfield")
    insert(engine, requests_rows=[row])
    assert client.get(f"{BASE}/requests/{row['request_id']}.json").status_code == 404
    assert ids_of(client.get(URL)) == []


@pytest.mark.parametrize(("query", "expected"), [
    ({"start_date": "yesterday"}, "start_date must be a W3C datetime"),
    ({"end_date": "2025-13-01"}, "end_date must be a W3C datetime"),
    ({"start_date": "0001-01-01T00:00:00Z"}, "start_date must be a W3C datetime"),
    ({"start_date": "2025-01-01", "end_date": "2024-01-01"}, "end_date lies before start_date"),
    ({"start_date": "2025-01-01", "end_date": "2025-06-01"}, "may not span more than 90 days"),
    ({"status": "pending"}, "status 'pending' is not open or closed"),
    ({"page": "two"}, "page must be a whole number"),
    ({"page": "0"}, "page must be a whole number"),
    ({"page_size": "5000"}, "page_size must be a whole number from 1 to 1000"),
    ({"page_size": "1e3"}, "page_size must be a whole number"),
    ({"page": "99999999999999999999"}, "page must be a whole number"),
    ({"extensions": "maybe"}, "extensions must be true or false"),
    ({"updated_after": "soon"}, "updated_after must be a W3C datetime"),
    ({"jurisdiction_id": "atlantis"}, "unknown jurisdiction_id 'atlantis'"),
])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_parameters_are_400s(client, query, expected, fmt):
    response = client.get(f"{BASE}/requests.{fmt}", params=query)
    assert response.status_code == 400
    assert expected in descriptions(response)


def test_several_bad_parameters_are_several_errors(client):
    response = client.get(URL, params={"start_date": "x", "status": "pending", "page": "two"})
    assert response.status_code == 400
    assert len(errors_of(response)) == 3


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_request_and_token_are_404s(client, fmt):
    for path in (f"requests/nope.{fmt}", f"tokens/nope.{fmt}"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 404
        assert errors_of(response)[0]["code"] == 404
