"""services/readmodel/queries.py on a real SQLite read model: aware UTC times, the default window, history and
updates."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from civicflow.services.readmodel import queries
from tests.services.api.helpers import event_row, insert, now, rejected_row, request_row

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_times_come_back_as_aware_utc(engine):
    row = request_row(requested_at=datetime(2026, 3, 1, 7, 0, tzinfo=ZoneInfo("America/New_York")))
    insert(engine, requests_rows=[row])
    with engine.connect() as conn:
        found = queries.get_request(conn, row["request_id"])
        assert queries.get_request(conn, "unknown") is None
    assert found["requested_at"] == datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert found["requested_at"].tzinfo is timezone.utc
    assert found["expected_at"].tzinfo is timezone.utc and found["closed_at"] is None


def test_the_default_window_and_its_edges(engine):
    rows = {name: request_row(requested_at=NOW - age) for name, age in
            [("today", timedelta(hours=1)), ("day_89", timedelta(days=89)), ("day_91", timedelta(days=91))]}
    insert(engine, requests_rows=rows.values())
    with engine.connect() as conn:
        found = [r["request_id"] for r in queries.list_requests(conn, now=NOW)]
        start_only = queries.list_requests(conn, start=NOW - timedelta(days=100), now=NOW)
        end_only = queries.list_requests(conn, end=NOW - timedelta(days=10), now=NOW)
    assert found == [rows["today"]["request_id"], rows["day_89"]["request_id"]]
    assert [r["request_id"] for r in start_only] == [rows["day_89"]["request_id"], rows["day_91"]["request_id"]]
    assert [r["request_id"] for r in end_only] == [rows["day_89"]["request_id"], rows["day_91"]["request_id"]]


def test_page_size_is_capped_at_1000(engine):
    insert(engine, requests_rows=[request_row(requested_at=NOW - timedelta(seconds=i)) for i in range(1005)])
    with engine.connect() as conn:
        assert len(queries.list_requests(conn, page_size=5000, now=NOW)) == 1000
        assert len(queries.list_requests(conn, page=2, page_size=1000, now=NOW)) == 5


def test_ids_include_rejected_requests_and_ignore_the_rest(engine):
    rejected, old = rejected_row(), request_row(requested_at=NOW - timedelta(days=500))
    insert(engine, requests_rows=[rejected, old])
    with engine.connect() as conn:
        assert queries.list_requests(conn, now=NOW) == []
        found = queries.list_requests(conn, ids=[rejected["request_id"], old["request_id"]], statuses=["open"],
                                      jurisdiction_id="elsewhere", now=NOW)
    assert {r["request_id"] for r in found} == {rejected["request_id"], old["request_id"]}


def test_history_is_in_time_order_per_request(engine):
    a, b = request_row(), request_row()
    late = event_row(a["request_id"], occurred_at=NOW)
    early = event_row(a["request_id"], kind="opened", occurred_at=NOW - timedelta(minutes=5))
    other = event_row(b["request_id"])
    insert(engine, requests_rows=[a, b], events_rows=[late, early, other])
    with engine.connect() as conn:
        found = queries.history(conn, [a["request_id"], b["request_id"], "none"])
    assert [e["event_id"] for e in found[a["request_id"]]] == [early["event_id"], late["event_id"]]
    assert [e["event_id"] for e in found[b["request_id"]]] == [other["event_id"]]
    assert found["none"] == []
    assert found[a["request_id"]][0]["occurred_at"].tzinfo is timezone.utc


def test_updates_are_transitions_in_the_window_with_their_jurisdiction(engine):
    nyc, elsewhere = request_row(), request_row(jurisdiction_id="springfield")
    inside = event_row(nyc["request_id"], occurred_at=NOW - timedelta(hours=1))
    opened = event_row(nyc["request_id"], kind="opened", occurred_at=NOW - timedelta(hours=1))
    outside = event_row(nyc["request_id"], occurred_at=NOW - timedelta(days=3))
    foreign = event_row(elsewhere["request_id"], occurred_at=NOW - timedelta(hours=1))
    insert(engine, requests_rows=[nyc, elsewhere], events_rows=[inside, opened, outside, foreign])
    with engine.connect() as conn:
        found = queries.list_updates(conn, start=NOW - timedelta(days=1), end=NOW, jurisdiction_id="nyc")
        everywhere = queries.list_updates(conn, start=NOW - timedelta(days=1), end=now(), jurisdiction_id=None)
    assert [(e["event_id"], e["jurisdiction_id"]) for e in found] == [(inside["event_id"], "nyc")]
    assert {e["event_id"] for e in everywhere} == {inside["event_id"], foreign["event_id"]}
