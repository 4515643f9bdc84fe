import gc

import pytest
from structlog.testing import capture_logs

from civicflow.streams.observability import heap


@pytest.fixture
def unfrozen():
    gc.unfreeze()  # another test may have built an app, which freezes
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


def test_a_batch_job_settles_what_it_keeps_and_gives_everything_back_when_it_ends(unfrozen):
    before = gc.get_threshold()
    kept = [[n] for n in range(1_000)]
    heap.settle()  # outside a batch job: nothing
    assert gc.get_freeze_count() == 0
    with heap.batch_job():
        assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, before[1], before[2])
        with heap.batch_job():  # nested: the outer one restores
            heap.settle()
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
    in_collections = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
    assert all(id(item) in in_collections for item in kept)


def test_a_batch_job_that_fails_still_restores_the_collector(unfrozen):
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), heap.batch_job():
        heap.settle()
        raise RuntimeError("replay failed")
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
