"""servicerequestupdates (FixMyStreet): accepted agency updates out, an agency's status updates in."""

from datetime import datetime, timedelta, timezone

import pytest

from tests.services.api.helpers import BASE, descriptions, errors_of, event_row, insert, now, rejected_row, request_row

URL = f"{BASE}/servicerequestupdates.json"


# ---- GET -------------------------------------------------------------------------------------------------------

def test_transitions_are_listed_oldest_first_with_fixmystreet_statuses(client, engine):
    row = request_row()
    start = now() - timedelta(hours=2)
    history = [event_row(row["request_id"], kind="opened", status="open", occurred_at=start),
               event_row(row["request_id"], kind="transition", status="acknowledged", note=None,
                         occurred_at=start + timedelta(minutes=1)),
               event_row(row["request_id"], kind="sla_met", status="acknowledged", goal="acknowledge",
                         occurred_at=start + timedelta(minutes=1)),
               event_row(row["request_id"], kind="transition", status="on_hold",
                         occurred_at=start + timedelta(minutes=2)),
               event_row(row["request_id"], kind="transition", status="resolved", open311_status="closed",
                         note="Done", occurred_at=start + timedelta(minutes=3)),
               event_row(row["request_id"], kind="transition", status="closed", open311_status="closed",
                         occurred_at=start + timedelta(minutes=4))]
    insert(engine, requests_rows=[row], events_rows=history)
    updates = client.get(URL).json()
    assert [u["status"] for u in updates] == ["INVESTIGATING", "ACTION_SCHEDULED", "FIXED", "CLOSED"]
    assert [u["update_id"] for u in updates] == [e["event_id"] for e in history if e["kind"] == "transition"]
    assert updates[2]["description"] == "Done" and updates[0]["description"] == ""
    assert updates[0]["updated_datetime"][-6:] in ("-05:00", "-04:00")
    assert {u["service_request_id"] for u in updates} == {row["request_id"]}


def test_updates_within_the_dates(client, engine):
    row = request_row()
    inside = event_row(row["request_id"], occurred_at=datetime(2025, 5, 2, 12, tzinfo=timezone.utc))
    outside = event_row(row["request_id"], occurred_at=datetime(2025, 5, 9, 12, tzinfo=timezone.utc))
    insert(engine, requests_rows=[row], events_rows=[inside, outside])
    response = client.get(URL, params={"start_date": "2025-05-01T00:00:00Z", "end_date": "2025-05-05T00:00:00Z"})
    assert [u["update_id"] for u in response.json()] == [inside["event_id"]]
    assert client.get(URL).json() == []  # the default window is the last 90 days


@pytest.mark.parametrize("query", [{"start_date": "never"}, {"start_date": "2025-01-01", "end_date": "2025-12-01"},
                                   {"jurisdiction_id": "atlantis"}])
def test_bad_update_queries_are_400s(client, query):
    assert client.get(URL, params=query).status_code == 400


# ---- POST ------------------------------------------------------------------------------------------------------

@pytest.fixture
def dot_request(engine):
    row = request_row(service_code="street-sign-missing", agency="DOT", external_id="ext-1")
    insert(engine, requests_rows=[row])
    return row


@pytest.mark.parametrize(("status", "platform"), [("FIXED", "resolved"), ("CLOSED", "closed"),
                                                  ("IN_PROGRESS", "in_progress"), ("ACTION_SCHEDULED", "in_progress"),
                                                  ("INVESTIGATING", "in_progress"), ("OPEN", "reopened"),
                                                  ("fixed", "resolved"), ("acknowledged", "acknowledged"),
                                                  ("on_hold", "on_hold")])
def test_an_agency_update_is_sent_as_the_keys_agency(client, sent, dot_request, status, platform):
    response = client.post(URL, data={"api_key": "demo-dot-agency-key", "service_request_id":
                                      dot_request["request_id"], "status": status, "description": "Sign replaced",
                                      "email": "crew@example.org", "first_name": "Sam"})
    assert response.status_code == 200, response.text
    [record] = sent.updates
    assert response.json() == [{"update_id": record["update_id"]}]
    assert (record["request_id"], record["agency"], record["status"]) == (dot_request["request_id"], "DOT", platform)
    assert record["note"] == "Sign replaced" and record["jurisdiction_id"] == "nyc"
    assert record["external_id"] == "ext-1"
    assert "email" not in record and "first_name" not in record
    assert sent.requests == []


def test_the_senders_time_and_update_id_are_kept(client, sent, dot_request):
    response = client.post(URL, data={"api_key": "demo-dot-agency-key", "service_request_id":
                                      dot_request["request_id"], "status": "resolved", "update_id": "fms-991",
                                      "updated_datetime": "2026-03-02T09:30:00-05:00"})
    assert response.json() == [{"update_id": "fms-991"}]
    assert sent.updates[0]["occurred_at"] == datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc)


def test_a_transfer_names_the_agency_taking_over(client, sent, dot_request):
    form = {"api_key": "demo-dot-agency-key", "service_request_id": dot_request["request_id"],
            "status": "transferred"}
    response = client.post(URL, data=form)
    assert response.status_code == 400 and "to_agency" in descriptions(response)
    assert client.post(URL, data={**form, "to_agency": "DSNY"}).status_code == 200
    assert sent.updates[0]["to_agency"] == "DSNY"


@pytest.mark.parametrize(("form", "status"), [
    ({"api_key": "demo-web-key"}, 403),                          # not an agency's key
    ({}, 403),                                                   # no key
    ({"api_key": "stolen"}, 403),
    ({"api_key": "demo-dot-agency-key", "agency": "NYPD"}, 403),  # speaking for another agency
    ({"api_key": "demo-dot-agency-key", "status": "done"}, 400),
    ({"api_key": "demo-dot-agency-key", "status": None}, 400),
    ({"api_key": "demo-dot-agency-key", "service_request_id": None}, 400),
    ({"api_key": "demo-dot-agency-key", "service_request_id": "unknown"}, 404),
    ({"api_key": "demo-dot-agency-key", "updated_datetime": "2999-01-01T00:00:00Z"}, 400),
    ({"api_key": "demo-dot-agency-key", "updated_datetime": "tomorrow"}, 400),
    ({"api_key": "demo-dot-agency-key", "colour": "red"}, 400),
    ({"api_key": "demo-dot-agency-key", "attribute[x]": "1"}, 400),
])
def test_refused_updates_send_nothing(client, sent, dot_request, form, status):
    base = {"service_request_id": dot_request["request_id"], "status": "resolved"}
    data = {k: v for k, v in {**base, **form}.items() if v is not None}
    response = client.post(URL, data=data)
    assert response.status_code == status, response.text
    assert errors_of(response)[0]["code"] == status
    assert sent.updates == []


def test_a_rejected_submission_takes_no_updates(client, sent, engine):
    row = rejected_row()
    insert(engine, requests_rows=[row])
    response = client.post(URL, data={"api_key": "demo-dot-agency-key", "service_request_id": row["request_id"],
                                      "status": "closed"})
    assert response.status_code == 400 and "was not accepted" in descriptions(response)
    assert sent.updates == []


def test_several_update_problems_at_once(client, sent):
    response = client.post(URL, data={"api_key": "demo-dot-agency-key", "status": "done", "colour": "red"})
    assert response.status_code == 400
    assert len(errors_of(response)) == 3  # unknown field, no service_request_id, unknown status
    assert sent.updates == []
