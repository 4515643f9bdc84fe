"""The lifecycle table on local RocksDB databases (rocksdict, as Faust's store opens them): the processor behaves
as on its in-memory dict, a state reaches the database only once its changelog write is acknowledged, and a new
processor rebuilds its timers from the databases."""

import asyncio

import pytest
from rocksdict import Options, Rdict

from civicflow.streams.lifecycle.store import LocalStates
from tests.streams.lifecycle.test_processor import (
    HOUR, T0_MS, TOPICS, Clock, events, kinds, processor, routed, update)

OFFSET_KEY = b"__faust\0offset__"


class Databases:
    """One real database per partition, opened raw as Faust's RocksDB store opens them; offsets as it keeps them."""

    def __init__(self, root, partitions=(0, 1)) -> None:
        self.root, self.owned, self.dbs = root, list(partitions), {}

    def db(self, partition: int) -> Rdict:
        if partition not in self.dbs:
            self.dbs[partition] = Rdict(str(self.root / f"p{partition}.db"), Options(raw_mode=True))
        return self.dbs[partition]

    def offset(self, partition: int) -> int | None:
        raw = self.db(partition).get(OFFSET_KEY)
        return int(raw) if raw is not None else None

    def states(self) -> LocalStates:
        def persist(partition: int, offset: int) -> None:
            self.db(partition).put(OFFSET_KEY, str(offset).encode())

        return LocalStates(db_for=self.db, partitions=lambda: self.owned, offset_key=OFFSET_KEY,
                           persist_offset=persist)

    def close(self) -> None:
        for db in self.dbs.values():
            db.close()
        self.dbs.clear()


@pytest.fixture
def databases(tmp_path):
    opened = Databases(tmp_path)
    yield opened
    opened.close()


def acknowledge(store: LocalStates, result) -> None:
    """What the agent does with a result's changelog records once the broker has them."""
    for emit in result.state:
        store.sent(emit, None)
    return result


def test_the_processor_answers_the_same_on_local_databases_as_on_its_dict(jurisdictions, databases):
    in_memory = processor(jurisdictions, clock=Clock())
    local_store = databases.states()
    local = processor(jurisdictions, clock=Clock(), store=local_store)
    for p in (in_memory, local):
        p.rebuild({0, 1})
    script = [
        lambda p: p.on_routed(routed("a"), partition=0, offset=0),
        lambda p: p.on_routed(routed("b"), partition=1, offset=0),
        lambda p: p.on_update(update("on_hold", T0_MS + 60_000, request_id="b"), partition=1),
        lambda p: p.on_update(update("acknowledged", T0_MS + 60_000, request_id="zz"), partition=0),  # parked
        lambda p: (setattr(p.clock, "now", T0_MS + 2 * HOUR), p.on_tick())[1],
        lambda p: p.on_update(update("closed", T0_MS + 3 * HOUR, request_id="a"), partition=0),
        lambda p: p.on_update(update("closed", T0_MS + 3 * HOUR, request_id="a"), partition=0),  # a retry
    ]
    for step in script:
        expected, got = step(in_memory), acknowledge(local_store, step(local))
        assert kinds(got) == kinds(expected)
        assert [e.value for e in got.state] == [e.value for e in expected.state]
        assert local.open_by_state() == in_memory.open_by_state()
    assert local.open_by_state() == {("NYPD", "paused"): 1}
    assert local_store.pending == {}, "every acknowledged state is in its database"


def test_a_state_reaches_its_database_only_when_the_changelog_acknowledges_it(jurisdictions, databases):
    store = databases.states()
    p = processor(jurisdictions, store=store)
    p.rebuild({0})
    result = p.on_routed(routed("a"), partition=0, offset=0)
    assert databases.db(0).get(b'"a"') is None and store["a"].status == "open", "in flight: served from memory"

    loop = asyncio.new_event_loop()
    try:
        failed, acked = loop.create_future(), loop.create_future()
        store.sent(result.state[0], failed)
        failed.set_exception(RuntimeError("broker gone"))
        loop.run_until_complete(asyncio.sleep(0))
        assert databases.db(0).get(b'"a"') is None and "a" in store.pending, "a failed write stays in memory"
        store.sent(result.state[0], acked)
        acked.set_result(type("Metadata", (), {"offset": 41})())
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    assert databases.db(0).get(b'"a"') == result.state[0].value
    assert databases.offset(0) == 41, "recovery starts after the acknowledged record"


def test_a_new_processor_rebuilds_its_timers_from_the_databases_and_fires_them(jurisdictions, databases):
    store = databases.states()
    first = processor(jurisdictions, store=store)
    first.rebuild({0, 1})
    for n, partition in enumerate((0, 1, 1)):
        acknowledge(store, first.on_routed(routed(f"r{n}"), partition=partition, offset=n))
    acknowledge(store, first.on_update(update("acknowledged", T0_MS + 60_000, request_id="r0"), partition=0))

    clock = Clock()
    clock.now = T0_MS + 2 * HOUR
    databases.owned = [1]  # partition 0 went to another worker
    second = processor(jurisdictions, clock=clock, store=databases.states())
    assert second.rebuild({1}) == 4, "two goals each for r1 and r2; nothing of partition 0"
    breached = [e["request_id"] for e in events(second.on_tick()) if e["kind"] == "sla_breached"]
    assert sorted(breached) == ["r1", "r2"], "acknowledge goals due while nobody owned them fire"
    assert second.open_by_state() == {("NYPD", "breached"): 2}
    assert databases.db(0).get(b'"r0"') is not None, "another partition's states are left to its databases"
    assert events(second.on_tick(), TOPICS.lifecycle) == [], "nothing fires twice"
