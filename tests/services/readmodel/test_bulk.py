"""The bulk projection (replays) writes exactly the rows the per-record projection writes, whatever the order
of the records and wherever the batches end, with closed requests leaving memory between batches."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicflow.services.readmodel import bulk as readmodel_bulk
from civicflow.services.readmodel import db, projection, schema
from tests.services.readmodel import records as r
from tests.services.readmodel.test_projection import NOW, apply_all, clear, rows, story


def _many() -> list[tuple[str, dict]]:
    items = []
    for n in range(6):
        routed, lifecycle = story(f"req-{n}")
        items += [routed, *lifecycle]
    items += [("rejected", r.rejected_submission("req-bad")), ("rejected", r.rejected_submission("req-0")),
              ("rejected", r.rejected_update("req-1", "closed", 30)),
              ("lifecycle", r.transition("req-2", "reopened", 30 * 60, to="open", previous="resolved",
                                         expected=60 * 48))]
    return items


def _bulk(engine, items, *, batch_records):
    store = readmodel_bulk.BulkStore(engine, batch_records=batch_records)
    applied = []
    for kind, record in items:
        applied.append(projection.apply(store, topic_kind=kind, record=record, now=NOW, catalog=r.CATALOG))
        store.applied()
    store.flush()
    return applied


@pytest.mark.parametrize("batch_records", [1, 3, 7, 1000])
def test_bulk_rows_equal_per_record_rows(engine, batch_records):
    items = _many()
    expected_applied = apply_all(engine, items)
    expected = {"requests": rows(engine, schema.requests), "events": rows(engine, schema.events)}
    clear(engine)
    assert _bulk(engine, items, batch_records=batch_records) == expected_applied
    got = {"requests": rows(engine, schema.requests), "events": rows(engine, schema.events)}
    assert got["requests"] == expected["requests"]
    assert [{k: v for k, v in e.items() if k != "recorded_at"} for e in got["events"]] == \
        [{k: v for k, v in e.items() if k != "recorded_at"} for e in expected["events"]]


@given(seed=st.integers(min_value=0, max_value=10_000), batch_records=st.integers(min_value=1, max_value=12))
@settings(max_examples=25, deadline=None)
def test_in_any_order_and_any_batch_size_bulk_gives_the_per_record_rows(tmp_path_factory, seed, batch_records):
    engine = db.engine_for(f"sqlite:///{tmp_path_factory.mktemp('bulk') / 'rm.sqlite3'}")
    db.migrate(engine)
    items = _many()
    random.Random(seed).shuffle(items)
    apply_all(engine, items)
    expected = rows(engine, schema.requests)
    clear(engine)
    _bulk(engine, items, batch_records=batch_records)
    assert rows(engine, schema.requests) == expected
    engine.dispose()


def test_a_redelivered_record_changes_nothing_in_bulk_either(engine):
    routed, lifecycle = story()
    assert _bulk(engine, [routed, *lifecycle, lifecycle[1], routed], batch_records=2)[-2:] == [False, False]
