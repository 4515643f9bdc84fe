"""SLA tracking: goals warn, breach and escalate on the timers, pause and resume, start again when a request is
reopened, follow an explicit due date, and judge by event time in replays; the tracker alone returns the SLA
events it decided."""

from datetime import timedelta

from civicflow.streams.lifecycle import state as lifecycle_state
from civicflow.streams.lifecycle import tracking
from tests import factories
from tests.streams.lifecycle.test_processor import (
    HOUR, T0, T0_MS, TOPICS, Clock, events, kinds, processor, routed, update)


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


def test_on_hold_pauses_the_clocks_and_resuming_moves_the_deadline(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(routed(), partition=0, offset=0)
    p.on_update(update("on_hold", T0_MS + HOUR // 2), partition=0)
    resumed = events(p.on_update(update("in_progress", T0_MS + 3 * HOUR // 2), partition=0))
    assert resumed[-1]["deadlines"]["resolve"] == T0 + timedelta(hours=9), "paused for one hour"


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


def tracked(jurisdictions, *, event_time=False):
    tracker = tracking.Tracker(jurisdictions=jurisdictions, event_time=event_time, clock=Clock())
    record = factories.routed(routed_at=T0, request={"submitted_at": T0})
    state = lifecycle_state.opened(record, partition=0, policy=tracker.policy(record))
    tracker.start(state, at_ms=state.submitted_at)
    tracker.schedule("r-1", state)
    return tracker, state


def test_the_tracker_returns_the_sla_events_of_a_move_and_of_its_timers(jurisdictions):
    tracker, state = tracked(jurisdictions)
    state.status = "acknowledged"
    assert list(tracker.move(state, previous="open", at_ms=T0_MS + HOUR // 2)) == [
        tracking.SlaEvent("met", "acknowledge", T0_MS + HOUR // 2, None)]
    due = [entry for batch in tracker.due_by(T0_MS + 5 * HOUR) for entry in batch]
    fired = [tracker.fire("r-1", state, name=tag) for at, _, tag, cycle in due
             if tracker.current(state, tag=tag, cycle=cycle, due=at)]
    assert fired == [tracking.SlaEvent("warning", "resolve", T0_MS + 4 * HOUR, 0.5)], "the acknowledge timers are stale"
    assert list(tracker.catch_up("r-1", state, until=T0_MS + 9 * HOUR)) == [
        tracking.SlaEvent("warning", "resolve", T0_MS + 6 * HOUR, 0.75),
        tracking.SlaEvent("breached", "resolve", T0_MS + 8 * HOUR, 1.0)]


def test_on_event_time_only_the_watermark_fires_goal_timers(jurisdictions):
    tracker, state = tracked(jurisdictions, event_time=True)
    assert [entry for batch in tracker.due_by(T0_MS + 9 * HOUR) for entry in batch] == []
    assert [(due, tag) for due, _, tag, _ in tracker.advance(0, until=T0_MS + HOUR + 1)] == [
        (T0_MS + HOUR // 2, "acknowledge")], "a goal's next threshold only: firing it schedules the one after"
    assert tracker.now(0, event_ms=0) == T0_MS + HOUR + 1
