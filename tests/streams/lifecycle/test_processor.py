"""The lifecycle processor without Kafka: updates applied, refused, retried and parked, and the bounds on an
update's time. Its parts have their own tests (test_state, test_tracking, test_notifications, test_transfers),
which use the helpers here."""

from datetime import datetime, timedelta, timezone

import pytest

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
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
