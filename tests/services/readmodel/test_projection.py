"""The projection on SQLite and PostgreSQL: same rows whatever the order, nothing changed by re-deliveries,
no contact data stored."""

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from civicflow.services.readmodel import db, projection, schema
from civicflow.services.readmodel import times as readmodel_times
from civicflow.services.readmodel.exceptions import ProjectionError
from tests.services.readmodel import records as r

NOW = datetime(2024, 3, 2, 9, 0, tzinfo=timezone.utc)


def apply_all(engine, items, *, now=NOW, catalog=r.CATALOG) -> list[bool]:
    with engine.begin() as conn:
        return [projection.apply(conn, topic_kind=kind, record=record, now=now, catalog=catalog)
                for kind, record in items]


def rows(engine, table) -> list[dict]:
    key = list(table.primary_key.columns)[0]
    with engine.connect() as conn:
        return [readmodel_times.normalized(row) for row in conn.execute(sa.select(table).order_by(key)).mappings()]


def request_row(engine, request_id="req-1") -> dict | None:
    found = [row for row in rows(engine, schema.requests) if row["request_id"] == request_id]
    return found[0] if found else None


def snapshot(engine) -> dict:
    return {"requests": rows(engine, schema.requests), "events": rows(engine, schema.events)}


def clear(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(schema.requests))
        conn.execute(sa.delete(schema.events))


def story(request_id="req-1") -> tuple[tuple[str, dict], list[tuple[str, dict]]]:
    """A routed request and its lifecycle: opened, acknowledged with a note, an SLA warning, in progress,
    resolved."""
    lifecycle = [
        r.lifecycle(request_id, "opened", 0, status="open"),
        r.transition(request_id, "acknowledged", 10, note="Crew assigned", previous="open"),
        r.lifecycle(request_id, "sla_warning", 12 * 60, status="acknowledged", goal="resolve", expected=60 * 24),
        r.transition(request_id, "in_progress", 13 * 60, previous="acknowledged", expected=60 * 26),
        r.transition(request_id, "resolved", 20 * 60, note="Pothole filled", previous="in_progress",
                     expected=None),
    ]
    return ("routed", r.routed(request_id)), [("lifecycle", event) for event in lifecycle]


def test_routed_request_gets_its_descriptive_fields_and_first_status(engine):
    assert apply_all(engine, [("routed", r.routed())]) == [True]
    row = request_row(engine)
    assert row == {
        "request_id": "req-1", "jurisdiction_id": "nyc", "external_id": "ext-req-1", "service_code": "pothole",
        "service_name": "Pothole", "service_group": "Streets & Sidewalks", "status": "open",
        "open311_status": "open", "status_notes": None, "agency": "DOT", "queue": "potholes", "channel": "mobile",
        "language": "en-US", "priority": "high", "description": "Deep pothole in the right lane",
        "lat": 40.7128, "long": -74.006, "address": "1 Centre St, New York, NY", "address_id": "1001210001",
        "zipcode": None, "media_url": "https://example.org/p.jpg",
        "districts": json.dumps({"borough": "Manhattan", "community_district": "101"}, sort_keys=True),
        "duplicate_of": None, "rejection_reasons": None, "import_warnings": None, "requested_at": r.at(0),
        "updated_at": r.at(0), "expected_at": None, "closed_at": None, "last_event_at": None, "routed": True,
    }
    (event,) = rows(engine, schema.events)
    assert (event["kind"], event["status"], event["agency"], event["occurred_at"], event["recorded_at"]) == \
        ("routed", "open", "DOT", r.at(0.01), NOW)


def test_triage_outcome_is_status_triage(engine):
    apply_all(engine, [("routed", r.routed(outcome="triage", agency=None))])
    row = request_row(engine)
    assert (row["status"], row["open311_status"], row["agency"], row["queue"]) == ("triage", "open", None, None)


def test_routed_then_lifecycle(engine):
    routed, lifecycle = story()
    assert apply_all(engine, [routed, *lifecycle]) == [True] * 6
    row = request_row(engine)
    assert row["status"] == "resolved" and row["open311_status"] == "closed"
    assert row["status_notes"] == "Pothole filled"
    assert row["closed_at"] == r.at(20 * 60)
    assert row["updated_at"] == row["last_event_at"] == r.at(20 * 60)
    assert row["expected_at"] is None  # closed, and the resolve goal stopped
    assert row["requested_at"] == r.at(0) and row["routed"] is True
    history = rows(engine, schema.events)
    assert sorted(e["kind"] for e in history) == ["opened", "routed", "sla_warning", "transition", "transition",
                                                  "transition"]
    ack = next(e for e in history if e["kind"] == "transition" and e["status"] == "acknowledged")
    assert (ack["note"], ack["agency"], ack["occurred_at"]) == ("Crew assigned", "DOT", r.at(10))
    warning = next(e for e in history if e["kind"] == "sla_warning")
    assert (warning["goal"], warning["status"]) == ("resolve", "acknowledged")


def test_every_stored_time_reads_back_as_aware_utc(engine):
    routed, lifecycle = story()
    apply_all(engine, [routed, *lifecycle])
    with engine.connect() as conn:
        raw = conn.execute(sa.select(schema.requests.c.closed_at)).scalar_one()
    assert readmodel_times.utc(raw) == r.at(20 * 60) and readmodel_times.utc(raw).utcoffset() == timedelta(0)
    times = [v for row in rows(engine, schema.requests) + rows(engine, schema.events) for v in row.values()
             if isinstance(v, datetime)]
    assert times and all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)


def test_intermediate_states_follow_the_events(engine):
    routed, lifecycle = story()
    apply_all(engine, [routed, *lifecycle[:2]])
    row = request_row(engine)
    assert (row["status"], row["status_notes"], row["expected_at"], row["closed_at"]) == \
        ("acknowledged", "Crew assigned", r.at(60 * 24), None)
    apply_all(engine, [lifecycle[2]])  # sla_warning: only the times move
    row = request_row(engine)
    assert (row["status"], row["status_notes"], row["updated_at"]) == \
        ("acknowledged", "Crew assigned", r.at(12 * 60))
    apply_all(engine, [lifecycle[3]])  # a transition without a note keeps the last note
    row = request_row(engine)
    assert (row["status"], row["status_notes"], row["expected_at"]) == \
        ("in_progress", "Crew assigned", r.at(60 * 26))


def test_lifecycle_before_routed_gives_the_same_rows(engine):
    routed, lifecycle = story()
    apply_all(engine, [routed, *lifecycle])
    routed_first = snapshot(engine)
    clear(engine)

    apply_all(engine, lifecycle)
    early = request_row(engine)
    assert early["routed"] is False and early["status"] == "resolved"
    assert (early["service_code"], early["service_name"], early["jurisdiction_id"], early["external_id"]) == \
        ("pothole", "Pothole", "nyc", "ext-req-1")
    assert early["requested_at"] == r.at(0)  # the opened event's time
    assert early["description"] is None
    apply_all(engine, [routed])
    assert snapshot(engine) == routed_first


def test_routed_arriving_in_the_middle_of_the_lifecycle(engine):
    routed, lifecycle = story()
    apply_all(engine, [routed, *lifecycle])
    expected = snapshot(engine)
    clear(engine)
    apply_all(engine, [*lifecycle[:3], routed, *lifecycle[3:]])
    assert snapshot(engine) == expected


def test_lifecycle_first_row_without_an_opened_event_and_without_catalog(engine):
    event = r.transition("req-2", "acknowledged", 30, previous="open")
    apply_all(engine, [("lifecycle", event)], catalog=None)
    row = request_row(engine, "req-2")
    assert (row["status"], row["requested_at"], row["service_name"], row["routed"]) == \
        ("acknowledged", r.at(30), None, False)


def test_every_record_delivered_twice_changes_nothing(engine):
    routed, lifecycle = story()
    others = [("routed", r.routed("req-2", outcome="triage", agency=None)),
              ("rejected", r.rejected_submission("req-bad")),
              ("rejected", r.rejected_update("req-1", "resolved", 30))]
    everything = [routed, *lifecycle, *others]
    assert apply_all(engine, everything) == [True] * len(everything)
    before = snapshot(engine)
    assert len(before["events"]) == len(everything) and len(before["requests"]) == 3

    later = NOW + timedelta(days=3)
    for _ in range(2):
        assert apply_all(engine, everything, now=later) == [False] * len(everything)
        assert apply_all(engine, list(reversed(everything)), now=later) == [False] * len(everything)
    for item in everything:  # one at a time, each in its own transaction
        assert apply_all(engine, [item], now=later) == [False]
    assert snapshot(engine) == before


def test_redelivered_old_event_after_newer_ones_does_not_roll_back(engine):
    routed, lifecycle = story()
    apply_all(engine, [routed, *lifecycle])
    before = snapshot(engine)
    apply_all(engine, [lifecycle[1]])  # the acknowledgement again, after the resolution
    assert snapshot(engine) == before


def test_an_event_older_than_the_row_only_goes_to_the_history(engine):
    routed, lifecycle = story()
    apply_all(engine, [routed, *lifecycle])
    before = request_row(engine)
    stale = r.transition("req-1", "on_hold", 15 * 60, note="stale", previous="in_progress", name="stale")
    assert apply_all(engine, [("lifecycle", stale)]) == [True]
    assert request_row(engine) == before
    assert any(e["note"] == "stale" for e in rows(engine, schema.events))


def test_rejected_submission_is_stored_with_reasons_and_without_contact_data(engine):
    record = r.rejected_submission("req-bad", minutes=5)
    assert record["submission"]["email"] == r.CONTACT["email"]  # the record does carry them
    assert apply_all(engine, [("rejected", record)]) == [True]
    row = request_row(engine, "req-bad")
    assert (row["status"], row["open311_status"], row["routed"]) == ("rejected", "closed", False)
    assert json.loads(row["rejection_reasons"]) == r.REASONS
    assert row["status_notes"] == ("Not accepted: the location is outside New York City; "
                                   "attribute size is required")
    assert (row["requested_at"], row["updated_at"]) == (r.at(5), r.at(5.01))
    assert (row["service_code"], row["service_name"], row["channel"], row["language"], row["description"],
            row["address"], row["lat"]) == ("pothole", "Pothole", "web", "es", "Water main break",
                                           "Somewhere off the coast", 41.9)
    (event,) = rows(engine, schema.events)
    assert (event["kind"], event["status"], event["request_id"]) == ("rejected", "rejected", "req-bad")


def test_no_contact_data_in_any_column(engine):
    apply_all(engine, [("rejected", r.rejected_submission("req-bad")), ("routed", r.routed("req-1")),
                       *story("req-1")[1]])
    stored = [str(value) for table in (schema.requests, schema.events) for row in rows(engine, table)
              for value in row.values() if value is not None]
    assert len(stored) > 40
    for secret in r.CONTACT.values():
        assert not [value for value in stored if secret.lower() in value.lower()], secret


def test_rejected_update_adds_only_an_event(engine):
    routed, lifecycle = story()
    apply_all(engine, [routed, *lifecycle[:2]])
    before = rows(engine, schema.requests)
    assert apply_all(engine, [("rejected", r.rejected_update("req-1", "resolved", 30))]) == [True]
    assert rows(engine, schema.requests) == before
    (event,) = [e for e in rows(engine, schema.events) if e["kind"] == "update_rejected"]
    assert (event["request_id"], event["agency"], event["status"], event["occurred_at"]) == \
        ("req-1", "DSNY", None, r.at(30.01))
    assert event["note"].startswith("Not accepted: agency DSNY does not own request req-1")


def test_rejected_update_for_an_unknown_request_creates_no_row(engine):
    apply_all(engine, [("rejected", r.rejected_update("req-unknown", "resolved", 30))])
    assert rows(engine, schema.requests) == []
    assert len(rows(engine, schema.events)) == 1


def test_rejected_submission_without_request_id_only_goes_to_the_history(engine):
    record = r.rejected_submission("")
    apply_all(engine, [("rejected", record)])
    assert rows(engine, schema.requests) == []
    assert [e["kind"] for e in rows(engine, schema.events)] == ["rejected"]


def test_accepted_request_wins_over_a_rejection_of_the_same_id_in_either_order(engine):
    rejected = ("rejected", r.rejected_submission("req-1", minutes=-5))
    routed, lifecycle = story()
    apply_all(engine, [rejected, routed, *lifecycle])
    rejected_first = rows(engine, schema.requests)
    assert rejected_first[0]["status"] == "resolved" and rejected_first[0]["rejection_reasons"] is None
    for order in ([routed, rejected, *lifecycle], [*lifecycle, rejected, routed], [rejected, *lifecycle, routed]):
        clear(engine)
        apply_all(engine, order)
        assert rows(engine, schema.requests) == rejected_first


def test_reopen_clears_closed_at(engine):
    apply_all(engine, [("routed", r.routed()), ("lifecycle", r.lifecycle("req-1", "opened", 0, status="open"))])
    apply_all(engine, [("lifecycle", r.transition("req-1", "resolved", 60, previous="open", expected=None))])
    assert request_row(engine)["closed_at"] == r.at(60)
    apply_all(engine, [("lifecycle", r.transition("req-1", "closed", 90, previous="resolved", expected=None))])
    row = request_row(engine)
    assert (row["status"], row["closed_at"]) == ("closed", r.at(60))  # closed (Open311) since the resolution
    apply_all(engine, [("lifecycle", r.transition("req-1", "reopened", 120, to="open", previous="closed",
                                                  note="Still there", expected=60 * 48))])
    row = request_row(engine)
    assert (row["status"], row["open311_status"], row["closed_at"], row["status_notes"], row["expected_at"]) == \
        ("open", "open", None, "Still there", r.at(60 * 48))
    apply_all(engine, [("lifecycle", r.transition("req-1", "closed", 180, previous="open", expected=None))])
    assert request_row(engine)["closed_at"] == r.at(180)


def test_expected_at_kept_while_open_and_cleared_when_closed(engine):
    apply_all(engine, [("routed", r.routed()), ("lifecycle", r.lifecycle("req-1", "opened", 0, status="open"))])
    assert request_row(engine)["expected_at"] == r.at(60 * 24)
    apply_all(engine, [("lifecycle", r.transition("req-1", "on_hold", 10, previous="open", expected=None))])
    assert request_row(engine)["expected_at"] == r.at(60 * 24)  # the paused goal's deadline stays shown
    apply_all(engine, [("lifecycle", r.transition("req-1", "closed", 20, previous="on_hold", expected=None))])
    assert request_row(engine)["expected_at"] is None


def test_sla_events_do_not_change_the_status(engine):
    apply_all(engine, [("routed", r.routed()), ("lifecycle", r.lifecycle("req-1", "opened", 0, status="open"))])
    before = request_row(engine)
    breach = r.lifecycle("req-1", "sla_breached", 60 * 24, status="open", agency="DOT", goal="resolve",
                         expected=60 * 24)
    escalation = r.lifecycle("req-1", "escalation", 60 * 24 + 1, status="open", goal="resolve", expected=60 * 24)
    apply_all(engine, [("lifecycle", breach), ("lifecycle", escalation)])
    after = request_row(engine)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"updated_at", "last_event_at"}
    assert after["updated_at"] == r.at(60 * 24 + 1)


def test_transfer_moves_the_agency_and_duplicate_sets_duplicate_of(engine):
    apply_all(engine, [("routed", r.routed()), ("lifecycle", r.lifecycle("req-1", "opened", 0, status="open"))])
    apply_all(engine, [("lifecycle", r.transition("req-1", "transferred", 5, to="open", previous="open",
                                                  to_agency="DEP", owner="DEP"))])
    assert request_row(engine)["agency"] == "DEP"
    apply_all(engine, [("lifecycle", r.transition("req-1", "duplicate", 6, to="closed", previous="open",
                                                  agency="DEP", duplicate_of="req-0", expected=None))])
    row = request_row(engine)
    assert (row["status"], row["duplicate_of"], row["closed_at"]) == ("closed", "req-0", r.at(6))


def test_unknown_topic_kind_is_refused(engine):
    with pytest.raises(ProjectionError), engine.begin() as conn:
        projection.apply(conn, topic_kind="updates", record={}, now=NOW)


def test_migrations_create_exactly_the_tables_of_schema(empty_engine):
    db.migrate(empty_engine)
    db.migrate(empty_engine)  # idempotent
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        differences = compare_metadata(context, schema.metadata)
        tables = set(sa.inspect(conn).get_table_names())
    assert differences == []
    assert tables == {"requests", "request_events", "alembic_version"}


def test_migration_comparison_sees_a_difference(engine):
    """The comparison above can fail: a column the migrations did not create is reported."""
    extended = sa.MetaData()
    for table in schema.metadata.tables.values():
        table.to_metadata(extended)
    sa.Table("requests", extended, sa.Column("ward", sa.String(16)), extend_existing=True)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), extended)
    assert [d[0] for d in differences] == ["add_column"] and differences[0][3].name == "ward"


def test_utc_normalises_naive_and_other_zones():
    naive = datetime(2024, 3, 1, 12, 0)
    assert readmodel_times.utc(naive) == datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert readmodel_times.utc(datetime(2024, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))) == \
        datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
    assert readmodel_times.utc(None) is None


def test_concurrent_migrations_take_turns(empty_engine):
    """The API and the projection migrate at start, possibly at the same moment on an empty database."""
    barrier, errors = threading.Barrier(4), []

    def migrate():
        barrier.wait()
        try:
            db.migrate(empty_engine)
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=migrate, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=45)
    assert errors == [] and not any(thread.is_alive() for thread in threads)
    with empty_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all() == ["0002"]


def test_an_imported_request_keeps_its_warnings(engine):
    record = {**r.routed(), "warnings": [{"code": "unknown_service_code", "message": "not in the catalog",
                                          "field": "service_code"}]}
    assert apply_all(engine, [("routed", record)]) == [True]
    assert json.loads(request_row(engine)["import_warnings"]) == record["warnings"]
