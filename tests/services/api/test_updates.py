"""servicerequestupdates (FixMyStreet): accepted agency updates out, an agency's status updates in."""

from datetime import datetime, timedelta, timezone

import xml.etree.ElementTree as ET

import pytest

from civicflow.streams.events import ids
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


def _form(row, **fields) -> dict:
    return {"api_key": "demo-dot-agency-key", "service_request_id": row["request_id"], **fields}


@pytest.mark.parametrize(("status", "platform", "from_status"), [
    ("FIXED", "resolved", "open"), ("CLOSED", "closed", "open"), ("IN_PROGRESS", "in_progress", "open"),
    ("ACTION_SCHEDULED", "in_progress", "acknowledged"), ("INVESTIGATING", "in_progress", "on_hold"),
    ("OPEN", "reopened", "resolved"), ("fixed", "resolved", "in_progress"), ("acknowledged", "acknowledged", "open"),
    ("on_hold", "on_hold", "open")])
def test_an_agency_update_is_sent_as_the_keys_agency(client, sent, engine, status, platform, from_status):
    row = request_row(service_code="street-sign-missing", agency="DOT", external_id="ext-1", status=from_status,
                      open311_status="closed" if from_status == "resolved" else "open")
    insert(engine, requests_rows=[row])
    response = client.post(URL, data=_form(row, status=status, description="Sign replaced",
                                           email="crew@example.org", first_name="Sam"))
    assert response.status_code == 200, response.text
    [record] = sent.updates
    assert response.json()[0]["update_id"] == record["update_id"]
    assert (record["request_id"], record["agency"], record["status"]) == (row["request_id"], "DOT", platform)
    assert record["note"] == "Sign replaced" and record["jurisdiction_id"] == "nyc"
    assert record["external_id"] == "ext-1"
    assert "email" not in record and "first_name" not in record
    assert sent.requests == []


def test_the_senders_time_and_update_id_are_kept(client, sent, dot_request):
    at = (now() - timedelta(minutes=10)).replace(microsecond=0)
    response = client.post(URL, data=_form(dot_request, status="resolved", update_id="fms-991",
                                           updated_datetime=at.astimezone(timezone(timedelta(hours=-5))).isoformat()))
    assert response.json()[0]["update_id"] == "fms-991"
    assert sent.updates[0]["occurred_at"] == at


def test_a_transfer_names_the_agency_taking_over(client, sent, dot_request):
    form = _form(dot_request, status="transferred")
    response = client.post(URL, data=form)
    assert response.status_code == 400 and "to_agency" in descriptions(response)
    assert client.post(URL, data={**form, "to_agency": "DSNY"}).status_code == 200
    assert sent.updates[0]["to_agency"] == "DSNY"


@pytest.mark.parametrize(("form", "status"), [
    ({"api_key": "demo-web-key"}, 403),                          # not an agency's key
    ({}, 403),                                                   # no key
    ({"api_key": "stolen"}, 403),
    ({"api_key": "demo-dot-agency-key", "agency": "NYPD"}, 403),  # speaking for another agency
    ({"api_key": "demo-nypd-agency-key"}, 403),                  # a key of an agency that does not own it
    ({"api_key": "demo-dot-agency-key", "status": "done"}, 400),
    ({"api_key": "demo-dot-agency-key", "status": None}, 400),
    ({"api_key": "demo-dot-agency-key", "status": "reopened"}, 400),  # not from open
    ({"api_key": "demo-dot-agency-key", "service_request_id": None}, 400),
    ({"api_key": "demo-dot-agency-key", "updated_datetime": "2999-01-01T00:00:00Z"}, 400),
    ({"api_key": "demo-dot-agency-key", "updated_datetime": "1900-01-01"}, 400),
    ({"api_key": "demo-dot-agency-key", "updated_datetime": "tomorrow"}, 400),
    ({"api_key": "demo-dot-agency-key", "colour": "red"}, 400),
    ({"api_key": "demo-dot-agency-key", "attribute[x]": "1"}, 400),
    ({"api_key": "demo-dot-agency-key", "jurisdiction_id": "atlantis"}, 400),
])
def test_refused_updates_send_nothing(client, sent, dot_request, form, status):
    base = {"service_request_id": dot_request["request_id"], "status": "resolved"}
    data = {k: v for k, v in {**base, **form}.items() if v is not None}
    response = client.post(URL, data=data)
    assert response.status_code == status, response.text
    assert errors_of(response)[0]["code"] == status
    assert sent.updates == []


def test_a_cross_agency_update_is_a_403_not_a_200(client, sent, dot_request):
    """Issue 19: NYPD's key on a DOT request got 200 with an update_id, though the read model knew the owner."""
    response = client.post(URL, data={**_form(dot_request, status="closed"), "api_key": "demo-nypd-agency-key"})
    assert response.status_code == 403
    assert errors_of(response) == [{"code": 403, "description": "not_owner: agency NYPD does not own request "
                                    f"{dot_request['request_id']} (owner: DOT)"}]
    assert sent.updates == []


def test_an_acknowledgement_dated_1900_is_refused_before_it_is_sent(client, sent, dot_request):
    """Issue 19: acknowledged 1900-01-01 on a request submitted today was accepted and met its goal."""
    response = client.post(URL, data=_form(dot_request, status="acknowledged", updated_datetime="1900-01-01"))
    assert response.status_code == 400
    assert {e["description"].split(":")[0] for e in errors_of(response)} == {"update_before_submission",
                                                                            "update_too_old"}
    assert sent.updates == []


def test_an_update_may_not_predate_the_last_accepted_one(client, sent, engine, dot_request):
    insert(engine, events_rows=[event_row(dot_request["request_id"], kind="transition", status="acknowledged",
                                          agency="DOT", occurred_at=now() - timedelta(minutes=5))])
    earlier = (now() - timedelta(minutes=20)).isoformat()
    response = client.post(URL, data=_form(dot_request, status="resolved", updated_datetime=earlier))
    assert response.status_code == 400 and "update_before_last_update" in descriptions(response)
    assert sent.updates == []


def test_a_rejected_submission_takes_no_updates(client, sent, engine):
    row = rejected_row()
    insert(engine, requests_rows=[row])
    response = client.post(URL, data={"api_key": "demo-dot-agency-key", "service_request_id": row["request_id"],
                                      "status": "closed"})
    assert response.status_code == 404 and "was not accepted" in descriptions(response)
    assert sent.updates == []


def test_several_update_problems_at_once(client, sent):
    response = client.post(URL, data={"api_key": "demo-dot-agency-key", "status": "done", "colour": "red"})
    assert response.status_code == 400
    assert len(errors_of(response)) == 3  # unknown field, no service_request_id, unknown status
    assert sent.updates == []


# ---- what the read model cannot know yet: a token -------------------------------------------------------------

def test_an_unknown_request_is_a_404_when_the_read_model_holds_everything(make_client, sent):
    client = make_client(read_model_complete=lambda: True)
    response = client.post(URL, data={"api_key": "demo-dot-agency-key", "service_request_id": "no-such-request",
                                      "status": "closed"})
    assert response.status_code == 404 and errors_of(response)[0]["code"] == 404
    assert sent.updates == []


@pytest.mark.parametrize("complete", [None, lambda: False, lambda: 1 / 0])
def test_a_request_not_projected_yet_gets_its_update_sent_with_a_token(make_client, sent, engine, complete):
    client = make_client(read_model_complete=complete)
    response = client.post(URL, data={"api_key": "demo-dot-agency-key", "service_request_id": "on-its-way",
                                      "status": "acknowledged"})
    assert response.status_code == 200, response.text
    [answer] = response.json()
    [record] = sent.updates
    assert answer["update_id"] == record["update_id"] and answer["token"]
    assert record["request_id"] == "on-its-way" and record["external_id"] is None
    polled = client.get(f"{BASE}/tokens/{answer['token']}.json").json()[0]
    assert polled == {"token": answer["token"], "service_request_id": "on-its-way",
                      "update_id": record["update_id"], "outcome": "pending"}

    row = request_row(request_id="on-its-way", agency="DOT")
    insert(engine, requests_rows=[row], events_rows=[event_row(
        "on-its-way", event_id=ids.uuid5(f"on-its-way/lifecycle/update/{record['update_id']}"), kind="transition",
        status="acknowledged", agency="DOT")])
    polled = client.get(f"{BASE}/tokens/{answer['token']}.json").json()[0]
    assert polled["outcome"] == "accepted" and polled["status"] == "acknowledged"
    root = ET.fromstring(client.get(f"{BASE}/tokens/{answer['token']}.xml").content)
    assert root.findtext("request/outcome") == "accepted"


def test_a_token_tells_a_refusal_with_its_reasons(make_client, sent, engine):
    client = make_client()
    answer = client.post(URL, data={"api_key": "demo-dot-agency-key", "service_request_id": "ghost",
                                    "status": "acknowledged"}).json()[0]
    [record] = sent.updates
    insert(engine, events_rows=[event_row(
        "ghost", event_id=ids.uuid5(f"ghost/update-rejected/{record['update_id']}"), kind="update_rejected",
        status=None, agency="DOT", note="Not accepted: no routed request ghost arrived within 30 s of the update")])
    polled = client.get(f"{BASE}/tokens/{answer['token']}.json").json()[0]
    assert polled["outcome"] == "refused" and polled["code"] == 404
    assert "no routed request ghost" in polled["description"]


def test_the_lifecycles_decision_is_the_answer_when_it_comes_in_time(make_client, sent, engine, dot_request):
    """The read model may lag behind the lifecycle: a refusal the API could not foresee is still answered."""
    client = make_client(post_wait_s=2.0)

    def lifecycle(record):
        if record["status"] == "in_progress":
            insert(engine, events_rows=[event_row(
                record["request_id"], kind="update_rejected", status=None, agency="DOT",
                event_id=ids.uuid5(f"{record['request_id']}/update-rejected/{record['update_id']}"),
                note="Not accepted: a request that is closed cannot become in_progress without reopening it")])
        else:
            insert(engine, events_rows=[event_row(
                record["request_id"], kind="transition", status=record["status"], agency="DOT",
                event_id=ids.uuid5(f"{record['request_id']}/lifecycle/update/{record['update_id']}"))])

    sent.on_update = lifecycle
    accepted = client.post(URL, data=_form(dot_request, status="acknowledged"))
    assert accepted.status_code == 200 and accepted.json() == [{"update_id": sent.updates[0]["update_id"]}]
    refused = client.post(URL, data=_form(dot_request, status="in_progress"))
    assert refused.status_code == 400 and "cannot become in_progress" in descriptions(refused)


def test_update_tokens_and_request_tokens_do_not_mix(client, engine):
    row = request_row()
    insert(engine, requests_rows=[row])
    assert client.get(f"{BASE}/tokens/{row['request_id']}.json").json()[0]["service_request_id"] == row["request_id"]
    assert client.get(f"{BASE}/tokens/update-%25%25.json").status_code == 404
