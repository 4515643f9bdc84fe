import gc

import pytest
from structlog.testing import capture_logs

from civicflow.streams.observability import heap


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()
    if heap._on_collection in gc.callbacks:
        gc.callbacks.remove(heap._on_collection)


def test_freezing_moves_the_objects_alive_now_out_of_collections(unfrozen):
    recovered = [[n] for n in range(10_000)]
    with capture_logs() as logged:
        heap.freeze("test")
    assert gc.get_freeze_count() >= len(recovered)
    in_collections = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
    assert not any(id(item) in in_collections for item in recovered)
    assert logged[0]["event"] == "heap_frozen" and logged[0]["objects"] >= len(recovered)


def test_collections_at_least_the_threshold_are_logged_and_shorter_ones_not(unfrozen, monkeypatch):
    heap.watch_pauses()
    heap.watch_pauses()  # installed once
    assert gc.callbacks.count(heap._on_collection) == 1
    with capture_logs() as logged:
        gc.collect(0)
    assert not [e for e in logged if e["event"] == "gc_pause"]
    monkeypatch.setattr(heap, "PAUSE_LOG_S", 0.0)
    with capture_logs() as logged:
        gc.collect()
    pauses = [e for e in logged if e["event"] == "gc_pause"]
    assert [e["generation"] for e in pauses] == [2] and pauses[0]["log_level"] == "warning"


def test_tuning_collects_the_young_generation_less_often_and_keeps_the_older_thresholds():
    before = gc.get_threshold()
    try:
        heap.tune()
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, before[1], before[2])
        assert heap.YOUNG_THRESHOLD > before[0]
    finally:
        gc.set_threshold(*before)
