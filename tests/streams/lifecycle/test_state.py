"""Request states: they survive through their changelog, timers are rebuilt from them, open requests are
counted by agency and SLA state as they move; the states alone give their changelog records."""

import json

from civicflow.streams.lifecycle import state as lifecycle_state
from civicflow.streams.lifecycle.models import RequestState
from tests import factories
from tests.streams.lifecycle.test_processor import (
    CHANGELOG, HOUR, T0, T0_MS, Clock, kinds, processor, routed, update)


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


def test_saving_gives_the_changelog_record_and_deleting_its_tombstone_and_the_counts_follow():
    states = lifecycle_state.States(store={}, changelog_topic=CHANGELOG)
    assert list(states.rebuilding({3}, schedule=lambda *_: None)) == [3]
    state = lifecycle_state.opened(factories.routed(routed_at=T0), partition=3, policy="default")
    emit = states.save("r-1", state)
    assert (emit.topic, json.loads(emit.key), emit.partition) == (CHANGELOG, "r-1", 3)
    assert RequestState.from_list(json.loads(emit.value)).as_list() == state.as_list()
    assert states.open_by_state() == {("NYPD", "on_track"): 1}
    tombstone = states.delete("r-1", 3)
    assert tombstone.value is None and states.get("r-1") is None and states.open_by_state() == {}
    fresh = lifecycle_state.opened(factories.routed(routed_at=T0), partition=3, policy="default")
    assert lifecycle_state.States(store={}, changelog_topic=None).save("r-1", fresh) is None, "no changelog"


def test_an_open_request_is_paused_breached_warned_or_on_track():
    state = lifecycle_state.opened(factories.routed(routed_at=T0), partition=0, policy="default")
    assert lifecycle_state.sla_state(state) == "on_track"
    state.status = "on_hold"
    assert lifecycle_state.sla_state(state) == "paused"
