"""The read side never fails on stored data: whatever reached the read model, at the extremes its column types
allow (year 1 and year 9999, NaN and infinities, control characters, text where JSON was expected, statuses no
code writes), every listing of it answers 200 with valid JSON (no NaN, no Infinity) and well-formed XML.

Issue 19: a request submitted in year 1 made every GET that listed it answer 500 (OverflowError converting to New
York time) and a stored lat=Infinity came back as "lat":Infinity, which is not JSON.
"""

import json
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.services.api.helpers import BASE, event_row, insert, request_row

EXAMPLES = 150  # docs/testing-and-reliability.md (Reliability) gives this count

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)  # SQLite stores no lone surrogate
MAYBE_TEXT = st.none() | TEXT
FLOATS = st.none() | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [float("nan"), float("inf"), float("-inf"), 1.7976931348623157e308, -0.0, 5e-324])
UTC_TIMES = st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=st.just(timezone.utc))
EDGES = st.sampled_from([datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc),
                         datetime(1, 1, 1, 4, 59, tzinfo=timezone.utc), datetime(9999, 12, 31, 20, tzinfo=timezone.utc)])
RECENT = st.integers(min_value=0, max_value=80 * 86400).map(
    lambda s: datetime.now(timezone.utc) - timedelta(seconds=s))
TIMES = EDGES | UTC_TIMES | RECENT
STATUSES = st.sampled_from(["triage", "open", "acknowledged", "in_progress", "on_hold", "resolved", "closed",
                            "rejected"]) | TEXT
KINDS = st.sampled_from(["routed", "rejected", "update_rejected", "opened", "transition", "sla_warning", "sla_met",
                         "sla_breached", "escalation"]) | TEXT


@st.composite
def stored_request(draw):
    row = request_row(
        request_id=str(uuid.uuid4()), jurisdiction_id=draw(st.sampled_from(["nyc", "nyc", "atlantis"]) | TEXT),
        external_id=draw(MAYBE_TEXT), service_code=draw(TEXT), service_name=draw(MAYBE_TEXT),
        service_group=draw(MAYBE_TEXT), status=draw(STATUSES), open311_status=draw(st.sampled_from(["open", "closed"])
                                                                                    | TEXT),
        status_notes=draw(MAYBE_TEXT), agency=draw(st.none() | st.sampled_from(["NYPD", "DOT"]) | TEXT),
        queue=draw(MAYBE_TEXT), channel=draw(MAYBE_TEXT), language=draw(MAYBE_TEXT), priority=draw(MAYBE_TEXT),
        description=draw(MAYBE_TEXT), lat=draw(FLOATS), long=draw(FLOATS), address=draw(MAYBE_TEXT),
        address_id=draw(MAYBE_TEXT), zipcode=draw(MAYBE_TEXT), media_url=draw(MAYBE_TEXT),
        districts=draw(st.none() | TEXT | st.just('{"borough": "Manhattan"}')), duplicate_of=draw(MAYBE_TEXT),
        rejection_reasons=draw(st.none() | TEXT | st.just('[{"code": null}, 3, "x"]') | st.just("{}")),
        import_warnings=draw(MAYBE_TEXT), requested_at=draw(TIMES), updated_at=draw(TIMES),
        expected_at=draw(st.none() | TIMES), closed_at=draw(st.none() | TIMES),
        last_event_at=draw(st.none() | TIMES), routed=draw(st.booleans()))
    history = [event_row(row["request_id"], kind=draw(KINDS), status=draw(st.none() | STATUSES),
                         open311_status=draw(st.none() | st.sampled_from(["open", "closed"]) | TEXT),
                         agency=draw(MAYBE_TEXT), note=draw(MAYBE_TEXT), goal=draw(MAYBE_TEXT),
                         occurred_at=draw(TIMES), recorded_at=draw(TIMES))
               for _ in range(draw(st.integers(min_value=0, max_value=3)))]
    return row, history


def _strict_json(body: bytes):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(body, parse_constant=refuse)


def _assert_renders(client, row) -> None:
    for fmt in ("json", "xml"):
        listed = client.get(f"{BASE}/requests.{fmt}", params={"service_request_id": row["request_id"],
                                                              "extensions": "true"})
        one = client.get(f"{BASE}/requests/{row['request_id']}.{fmt}", params={"extensions": "true"})
        updates = client.get(f"{BASE}/servicerequestupdates.{fmt}")
        assert listed.status_code == 200 and updates.status_code == 200
        assert one.status_code in (200, 404)  # 404: stored under another jurisdiction
        for response in (listed, one, updates):
            if fmt == "json":
                _strict_json(response.content)
            else:
                ET.fromstring(response.content)
        if fmt == "json":
            [shown] = _strict_json(listed.content)
            assert shown["service_request_id"] == row["request_id"]


YEAR_ONE = request_row(requested_at=datetime(1, 1, 1, tzinfo=timezone.utc), lat=float("inf"), long=float("nan"),
                       expected_at=datetime(1, 1, 1, 3, tzinfo=timezone.utc))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
@given(stored=stored_request())
@example(stored=(YEAR_ONE, [event_row(YEAR_ONE["request_id"], occurred_at=datetime(1, 1, 1, tzinfo=timezone.utc))]))
def test_any_stored_request_renders_in_json_and_xml(client, engine, stored):
    row, history = stored
    insert(engine, requests_rows=[row], events_rows=history)
    _assert_renders(client, row)


def test_the_year_one_request_of_issue_19_is_listed_for_everyone(client, engine):
    ordinary = request_row()
    insert(engine, requests_rows=[YEAR_ONE, ordinary])
    both = ",".join([YEAR_ONE["request_id"], ordinary["request_id"]])
    listed = _strict_json(client.get(f"{BASE}/requests.json", params={"service_request_id": both}).content)
    assert {r["service_request_id"] for r in listed} == {YEAR_ONE["request_id"], ordinary["request_id"]}
    year_one = next(r for r in listed if r["service_request_id"] == YEAR_ONE["request_id"])
    assert year_one["requested_datetime"] == "0001-01-01T00:00:00+00:00", "out of New York's range: shown in UTC"
    assert year_one["lat"] is None and year_one["long"] is None, "JSON has no Infinity or NaN"
    root = ET.fromstring(client.get(f"{BASE}/requests.xml", params={"service_request_id": both}).content)
    assert len(root.findall("request")) == 2
