"""The lifecycle processor without Kafka: transitions, SLA timers on both clocks, parking, retries, recovery."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.lifecycle.processor import LifecycleProcessor, Options
from civicflow.streams.settings import Settings
from civicflow.streams.validation.bounds import Bounds
from tests import factories

CODEC = contract_codec.from_url(None)
TOPICS = contract_topics.Topics()
CHANGELOG = "civicflow.lifecycle_state.changelog"
T0 = datetime(2026, 11, 30, 14, 0, tzinfo=timezone.utc)  # a Monday, 09:00 in New York
HOUR = 3_600_000
T0_MS = int(T0.timestamp() * 1000)


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


class Clock:
    def __init__(self) -> None:
        self.now = T0_MS

    def __call__(self) -> int:
        return self.now


# Most tests send updates dated ahead of a clock they do not move: a skew of two days lets them. The bounds on an
# update's time are tested with the settings' own (test_update_times_that_rewrite_history_are_refused and after).
LENIENT = Bounds(skew=timedelta(days=2))


def processor(jurisdictions, *, event_time=False, clock=None, store=None, bounds=LENIENT) -> LifecycleProcessor:
    return LifecycleProcessor(jurisdictions=jurisdictions, codec=CODEC, topics=TOPICS,
                              store={} if store is None else store, changelog_topic=CHANGELOG,
                              options=Options(event_time=event_time, park_grace_ms=30_000, bounds=bounds),
                              clock=clock or Clock())


def routed(request_id="r-1", service_code="noise-residential", agency="NYPD", due_at=None, submitted=T0,
           outcome="routed") -> dict:
    return factories.routed(request_id=request_id, routed_at=submitted,
                            request={"service_code": service_code, "submitted_at": submitted, "due_at": due_at},
                            routing={"outcome": outcome, "agency": agency})


def update(status, at_ms, *, request_id="r-1", agency="NYPD", update_id=None, **extra) -> dict:
    return factories.update(status, occurred_at=at_ms, request_id=request_id, agency=agency,
                            update_id=update_id or f"{status}-{at_ms}", **extra)


def events(result, topic=TOPICS.lifecycle) -> list[dict]:
    subject = contract_schemas.REJECTED if topic == TOPICS.rejected else contract_schemas.LIFECYCLE
    return [CODEC.decode(subject, e.value) for e in result.events if e.topic == topic]


def kinds(result) -> list[tuple]:
    return [(e["kind"], e["goal"], e["threshold"]) for e in events(result)]


def test_a_routed_request_opens_with_deadlines_and_an_acknowledgement_meets_its_goal(jurisdictions):
    p = processor(jurisdictions)
    opened = events(p.on_routed(routed(), partition=2, offset=7))
    assert [e["kind"] for e in opened] == ["opened"]
    assert opened[0]["deadlines"] == {"acknowledge": T0 + timedelta(hours=1), "resolve": T0 + timedelta(hours=8)}
    assert opened[0]["expected_at"] == T0 + timedelta(hours=8) and opened[0]["open311_status"] == "open"
    result = p.on_update(update("acknowledged", T0_MS + HOUR // 4), partition=2)
    assert kinds(result) == [("sla_met", "acknowledge", None), ("transition", None, None)]
    assert events(result)[-1]["status"] == "acknowledged" and events(result)[-1]["previous_status"] == "open"


def test_timers_warn_then_breach_and_escalate_once(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock)
    p.on_routed(routed(), partition=0, offset=0)
    clock.now = T0_MS + 9 * HOUR
    result = p.on_tick()
    assert kinds(result) == [("sla_warning", "acknowledge", 0.5), ("sla_warning", "acknowledge", 0.75),
                             ("sla_breached", "acknowledge", 1.0), ("escalation", "acknowledge", 1.0),
                             ("sla_warning", "resolve", 0.5), ("sla_warning", "resolve", 0.75),
                             ("sla_breached", "resolve", 1.0), ("escalation", "resolve", 1.0)]
    assert len(events(result, TOPICS.escalations(jurisdiction_id="nyc", agency="NYPD"))) == 2
    assert events(result)[2]["occurred_at"] == T0 + timedelta(hours=1), "a breach happens at the deadline"
    clock.now += HOUR
    assert p.on_tick().events == [], "nothing fires twice"


def test_illegal_transitions_and_strangers_are_rejected_with_reasons(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(routed(), partition=0, offset=0)
    p.on_update(update("closed", T0_MS + HOUR), partition=0)
    refused = events(p.on_update(update("in_progress", T0_MS + 2 * HOUR), partition=0), TOPICS.rejected)
    assert refused[0]["reasons"][0]["code"] == "illegal_transition"
    assert "reopening" in refused[0]["reasons"][0]["message"] and refused[0]["update"]["status"] == "in_progress"
    stranger = events(p.on_update(update("reopened", T0_MS + 2 * HOUR, agency="DOT"), partition=0),
                      TOPICS.rejected)
    assert stranger[0]["reasons"][0]["code"] == "not_owner" and stranger[0]["submission"] is None


def test_a_retried_update_is_answered_with_the_same_event_and_changes_nothing(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(routed(), partition=0, offset=0)
    first = events(p.on_update(update("in_progress", T0_MS + 60_000, update_id="u-1"), partition=0))
    again = events(p.on_update(update("in_progress", T0_MS + 60_000, update_id="u-1"), partition=0))
    assert again[-1]["event_id"] == first[-1]["event_id"] and again[-1]["status"] == "in_progress"
    assert [e["kind"] for e in again] == ["transition"]


def test_on_hold_pauses_the_clocks_and_resuming_moves_the_deadline(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(routed(), partition=0, offset=0)
    p.on_update(update("on_hold", T0_MS + HOUR // 2), partition=0)
    resumed = events(p.on_update(update("in_progress", T0_MS + 3 * HOUR // 2), partition=0))
    assert resumed[-1]["deadlines"]["resolve"] == T0 + timedelta(hours=9), "paused for one hour"


def test_an_update_before_its_routed_record_is_parked_then_applied(jurisdictions):
    p = processor(jurisdictions)
    parked = p.on_update(update("acknowledged", T0_MS + 60_000), partition=1)
    assert parked.events == [] and parked.counts == {"parked": 1}
    opened = kinds(p.on_routed(routed(), partition=1, offset=3))
    assert opened == [("opened", None, None), ("sla_met", "acknowledge", None), ("transition", None, None)]


def test_an_update_for_a_request_that_never_comes_is_rejected_after_the_grace(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock)
    p.on_update(update("acknowledged", T0_MS, request_id="ghost"), partition=1)
    clock.now += 31_000
    refused = events(p.on_tick(), TOPICS.rejected)
    assert [r["reasons"][0]["code"] for r in refused] == ["unknown_request"]
    assert p.store.get("ghost") is None


def test_reopening_starts_a_new_cycle(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(routed(), partition=0, offset=0)
    p.on_update(update("resolved", T0_MS + HOUR), partition=0)
    reopened = events(p.on_update(update("reopened", T0_MS + 2 * HOUR), partition=0))[-1]
    assert reopened["cycle"] == 1 and reopened["status"] == "open"
    assert reopened["deadlines"]["resolve"] == T0 + timedelta(hours=10)


def test_an_explicit_due_date_replaces_the_resolve_target(jurisdictions):
    p = processor(jurisdictions)
    opened = events(p.on_routed(routed(due_at=T0 + timedelta(days=3)), partition=0, offset=0))[0]
    assert opened["expected_at"] == T0 + timedelta(days=3)


def test_a_transfer_hands_the_request_over(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(routed(), partition=0, offset=11)
    result = p.on_update(update("transferred", T0_MS + 60_000, to_agency="DOT"), partition=0)
    work = [CODEC.decode(contract_schemas.ROUTED, e.value) for e in result.events
            if e.topic == TOPICS.work(jurisdiction_id="nyc", agency="DOT")]
    assert [w["routing"]["agency"] for w in work] == ["DOT"]
    assert events(result)[-1]["agency"] == "DOT"
    refused = events(p.on_update(update("acknowledged", T0_MS + 120_000), partition=0), TOPICS.rejected)
    assert refused[0]["reasons"][0]["code"] == "not_owner"


def test_event_time_judges_by_when_things_happened_whatever_the_arrival_order(jurisdictions):
    """Closed one minute before its due date, then one after: met, then breached, however the routed record
    and the updates interleave."""
    due = T0 + timedelta(days=2)
    due_ms = int(due.timestamp() * 1000)
    for routed_first in (True, False):
        p = processor(jurisdictions, event_time=True)
        inputs = [("routed", routed("a", due_at=due)), ("routed", routed("b", due_at=due)),
                  ("update", update("closed", due_ms - 60_000, request_id="a")),
                  ("update", update("closed", due_ms + 60_000, request_id="b"))]
        if not routed_first:
            inputs = inputs[2:] + inputs[:2]
        outcomes = {}
        for kind, item in inputs:
            result = p.on_routed(item, partition=0, offset=0) if kind == "routed" else p.on_update(item, partition=0)
            for e in events(result):
                if e["goal"] == "resolve" and e["kind"] in ("sla_met", "sla_breached"):
                    outcomes[e["request_id"]] = (e["kind"], e["occurred_at"])
        assert outcomes == {"a": ("sla_met", due - timedelta(minutes=1)), "b": ("sla_breached", due)}, routed_first


def test_state_survives_through_its_changelog_and_timers_are_rebuilt(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock)
    changelog = p.on_routed(routed(), partition=4, offset=0).state
    recovered = {json.loads(e.key): json.loads(e.value) for e in changelog}  # what Faust restores
    clock.now = T0_MS + 2 * HOUR
    q = processor(jurisdictions, clock=clock, store=recovered)
    assert q.rebuild({4}) == 2
    assert ("sla_breached", "acknowledge", 1.0) in kinds(q.on_tick()), "a timer due while nobody owned it fires"
    assert processor(jurisdictions, store=dict(recovered)).rebuild({1}) == 0, "other partitions' state is dropped"


def notifications(result) -> list[dict]:
    return [CODEC.decode(contract_schemas.NOTIFICATION, e.value) for e in result.events
            if e.topic == TOPICS.notifications]


def with_contact(record: dict, **contact) -> dict:
    fields = {"email": None, "phone": None, "first_name": None, "last_name": None, "device_id": None,
              "account_id": None, **contact}
    return {**record, "contact": fields, "request": {**record["request"], "language": contact.pop("lang", "en")}}


def test_the_citizen_hears_of_every_public_change_in_their_language(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock)
    opened = notifications(p.on_routed(with_contact(routed(), email="ana@example.org", first_name="Ana",
                                                    lang="es-US"), partition=0, offset=0))
    assert [(n["kind"], n["language"], n["channel"], n["address"]) for n in opened] == [
        ("received", "es", "email", "ana@example.org"), ("routed", "es", "email", "ana@example.org")]
    assert opened[0]["expected_at"] == T0 + timedelta(hours=8)
    noted = notifications(p.on_update(update("acknowledged", T0_MS + 60_000, note="On our way"), partition=0))
    assert [(n["kind"], n["status_notes"]) for n in noted] == [("acknowledged", "On our way")]
    assert notifications(p.on_update(update("on_hold", T0_MS + 120_000), partition=0)) == [], "not public"
    p.on_update(update("in_progress", T0_MS + 180_000), partition=0)
    clock.now = T0_MS + 30 * HOUR
    apology = [n for n in notifications(p.on_tick()) if n["kind"] == "breach_apology"]
    assert len(apology) == 1 and apology[0]["expected_at"] > T0 + timedelta(hours=8)


def test_no_contact_no_notification_and_a_phone_gets_an_sms(jurisdictions):
    p = processor(jurisdictions)
    assert notifications(p.on_routed(routed("quiet"), partition=0, offset=0)) == []
    sms = notifications(p.on_routed(with_contact(routed("loud"), phone="+1 212 555 0100", lang="fr"),
                                    partition=0, offset=1))
    assert {(n["channel"], n["language"]) for n in sms} == {("sms", "en")}, "no French templates: English"


def test_open_requests_are_counted_by_agency_and_sla_state_as_they_move(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock)
    p.rebuild({0})
    p.on_routed(routed("a"), partition=0, offset=0)
    p.on_routed(routed("b"), partition=0, offset=1)
    assert p.open_by_state() == {("NYPD", "on_track"): 2}
    p.on_update(update("on_hold", T0_MS + 60_000, request_id="b"), partition=0)
    assert p.open_by_state() == {("NYPD", "on_track"): 1, ("NYPD", "paused"): 1}
    clock.now = T0_MS + 2 * HOUR
    p.on_tick()
    assert p.open_by_state() == {("NYPD", "breached"): 1, ("NYPD", "paused"): 1}
    p.on_update(update("closed", T0_MS + 3 * HOUR, request_id="a"), partition=0)
    assert p.open_by_state() == {("NYPD", "paused"): 1}
    p.revoke({0})
    assert p.open_by_state() == {}


# ---- the time of an update (issue 19: an acknowledgement dated 1900-01-01 was accepted and recorded as met) -----

def refusals(result) -> list[str]:
    return [r["reasons"][0]["code"] for r in events(result, TOPICS.rejected)]


def test_an_acknowledgement_dated_1900_is_refused_and_meets_nothing(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock, bounds=Bounds())
    p.on_routed(routed(), partition=0, offset=0)
    clock.now = T0_MS + 10 * 60_000
    result = p.on_update(update("acknowledged", int(datetime(1900, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)),
                         partition=0)
    assert refusals(result) == ["update_before_submission"]
    assert kinds(result) == [] and result.service_times == [], "no goal met, no time to acknowledge of 0"
    assert p.store["r-1"].status == "open"
    accepted = p.on_update(update("acknowledged", T0_MS + 5 * 60_000), partition=0)
    assert kinds(accepted) == [("sla_met", "acknowledge", None), ("transition", None, None)]


@pytest.mark.parametrize(("occurred_ms", "code"), [
    (T0_MS - 60_000, "update_before_submission"),
    (T0_MS + 2 * HOUR + 6 * 60_000, "update_in_future"),
])
def test_update_times_that_rewrite_history_are_refused(jurisdictions, occurred_ms, code):
    clock = Clock()
    p = processor(jurisdictions, clock=clock, bounds=Bounds())
    p.on_routed(routed(), partition=0, offset=0)
    clock.now = T0_MS + 2 * HOUR
    assert refusals(p.on_update(update("acknowledged", occurred_ms), partition=0)) == [code]


def test_an_update_may_not_predate_the_last_accepted_one(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock, bounds=Bounds())
    p.on_routed(routed(), partition=0, offset=0)
    clock.now = T0_MS + 2 * HOUR
    p.on_update(update("acknowledged", T0_MS + HOUR), partition=0)
    assert refusals(p.on_update(update("resolved", T0_MS + HOUR - 1), partition=0)) == ["update_before_last_update"]
    same_instant = p.on_update(update("resolved", T0_MS + HOUR), partition=0)
    assert refusals(same_instant) == [] and p.store["r-1"].status == "resolved", "at the same instant is fine"


def test_a_live_update_older_than_the_bound_is_refused(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock, bounds=Bounds(update_max_age=timedelta(hours=24)))
    p.on_routed(routed(), partition=0, offset=0)
    clock.now = T0_MS + 30 * HOUR
    assert refusals(p.on_update(update("resolved", T0_MS + 5 * HOUR), partition=0)) == ["update_too_old"]
    assert refusals(p.on_update(update("resolved", T0_MS + 7 * HOUR), partition=0)) == []


def test_the_bound_on_an_updates_age_is_a_setting(jurisdictions, monkeypatch):
    from civicflow.streams.validation import bounds as validation_bounds
    monkeypatch.setenv("CIVICFLOW_UPDATE_MAX_AGE_H", "1")
    assert Bounds.from_settings(Settings()).update_max_age == timedelta(hours=1)
    validation_bounds.current.cache_clear()
    monkeypatch.setattr("civicflow.streams.settings.get", lambda: Settings())
    try:
        assert Options().bounds.update_max_age == timedelta(hours=1), "the worker's options read it"
    finally:
        validation_bounds.current.cache_clear()


def test_replays_import_recorded_history_whatever_its_dates(jurisdictions):
    """On event time (replays) the watermark is not a wall clock: a 2011 row's close is accepted."""
    p = processor(jurisdictions, event_time=True, bounds=Bounds())
    old = datetime(2011, 3, 1, tzinfo=timezone.utc)
    old_ms = int(old.timestamp() * 1000)
    p.on_routed(routed(submitted=old), partition=0, offset=0)
    assert refusals(p.on_update(update("closed", old_ms + HOUR), partition=0)) == []
    assert p.store["r-1"].status == "closed"


def test_parked_updates_are_held_to_the_same_bounds_when_their_request_arrives(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock, bounds=Bounds())
    clock.now = T0_MS + 60_000
    p.on_update(update("acknowledged", T0_MS - HOUR), partition=1)
    opened = p.on_routed(routed(), partition=1, offset=3)
    assert refusals(opened) == ["update_before_submission"]
    assert kinds(opened) == [("opened", None, None)]
