"""Intake index: idempotency window and duplicate detection by radius and time window."""

from hypothesis import given, settings
from hypothesis import strategies as st

from civicflow.streams.pipeline import index as pipeline_index

HOUR_MS = 3_600_000


def _index():
    return pipeline_index.IntakeIndex({}, idempotency_window_ms=24 * HOUR_MS)


def _near(lat=40.7580, lon=-73.9855, at_ms=0, service="noise", radius_m=50.0, window_h=72):
    return pipeline_index.Nearby(jurisdiction_id="nyc", service_code=service, lat=lat, lon=lon, at_ms=at_ms,
                                 radius_m=radius_m, window_ms=window_h * HOUR_MS)


def test_idempotency_key_reused_within_window_names_the_original():
    index = _index()
    index.remember_key(jurisdiction_id="nyc", key="k", request_id="a", at_ms=0)
    assert index.original_for(jurisdiction_id="nyc", key="k", request_id="b", at_ms=23 * HOUR_MS) == "a"


def test_idempotency_key_after_window_or_same_request_is_free():
    index = _index()
    index.remember_key(jurisdiction_id="nyc", key="k", request_id="a", at_ms=0)
    assert index.original_for(jurisdiction_id="nyc", key="k", request_id="b", at_ms=25 * HOUR_MS) is None
    assert index.original_for(jurisdiction_id="nyc", key="k", request_id="a", at_ms=HOUR_MS) is None
    assert index.original_for(jurisdiction_id="bos", key="k", request_id="b", at_ms=HOUR_MS) is None


def test_nearby_request_of_same_service_is_a_duplicate_of_the_first():
    index = _index()
    index.add_open(request_id="first", near=_near())
    assert index.duplicate_of(request_id="second", near=_near(lat=40.75820, at_ms=HOUR_MS)) == "first"


def test_far_other_service_or_late_requests_are_not_duplicates():
    index = _index()
    index.add_open(request_id="first", near=_near())
    assert index.duplicate_of(request_id="x", near=_near(lat=40.7590)) is None  # ~110 m away
    assert index.duplicate_of(request_id="x", near=_near(service="pothole")) is None
    assert index.duplicate_of(request_id="x", near=_near(at_ms=73 * HOUR_MS)) is None


def test_a_reprocessed_original_is_not_its_own_duplicate():
    index = _index()
    index.add_open(request_id="first", near=_near())
    index.add_open(request_id="second", near=_near(at_ms=5))
    assert index.duplicate_of(request_id="first", near=_near()) is None


def test_expired_entries_are_dropped_from_the_cell_on_write():
    index = _index()
    index.add_open(request_id="old", near=_near())
    index.add_open(request_id="new", near=_near(at_ms=100 * HOUR_MS))
    assert [e[0] for cell in index.store.values() for e in cell] == ["new"]


@given(lat=st.floats(-80, 80), lon=st.floats(-179.9, 179.9), bearing=st.floats(0, 6.283), metres=st.floats(0, 45))
def test_every_point_within_the_radius_is_found_across_cell_borders(lat, lon, bearing, metres):
    import math
    index = _index()
    index.add_open(request_id="first", near=_near(lat=lat, lon=lon))
    dlat = metres * math.cos(bearing) / 111_320
    dlon = metres * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    assert index.duplicate_of(request_id="x", near=_near(lat=lat + dlat, lon=lon + dlon)) == "first"


# ---- expiry on each partition's event-time watermark and on processing time --------------------------------

LATE = pipeline_index.LATENESS_MS


class Clock:
    """Processing time in ms, moved by hand."""

    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> int:
        return self.ms


def _live_index():
    """An index whose processing clock moves with the requests' submitted_at, as in live operation."""
    return pipeline_index.IntakeIndex({}, idempotency_window_ms=24 * HOUR_MS, clock=Clock())


def _remember(index, key, at_ms, partition=0, request_id=None):
    index.clock.ms = max(index.clock.ms, at_ms)
    index.remember_key(jurisdiction_id="nyc", key=key, request_id=request_id or f"req-{key}-{at_ms}", at_ms=at_ms,
                       partition=partition)


def _advance(index, partition, at_ms, limit=1_000):
    index.clock.ms = max(index.clock.ms, at_ms)
    index.observe(partition=partition, at_ms=at_ms)
    return index.expire(partition=partition, limit=limit)


def test_an_idempotency_key_is_deleted_once_the_watermark_passes_its_window_and_the_lateness():
    index = _live_index()
    _remember(index, "k", 0)
    index.drain()
    assert _advance(index, 0, 24 * HOUR_MS + LATE) == 0 and "idem|nyc|k" in index.store
    assert _advance(index, 0, 24 * HOUR_MS + LATE + 1) == 1
    assert "idem|nyc|k" not in index.store
    assert index.drain() == [("idem|nyc|k", None)], "the deletion is a tombstone for the changelog"


def test_entries_of_a_replay_stay_while_processing_time_is_within_their_window():
    index = _live_index()
    _advance(index, 0, 10_000 * HOUR_MS)   # live traffic has moved the watermark far ahead
    _remember(index, "historic", 0)        # then an import of old requests arrives
    assert _advance(index, 0, 10_001 * HOUR_MS) == 0
    assert index.original_for(jurisdiction_id="nyc", key="historic", request_id="again", at_ms=HOUR_MS)
    _advance(index, 0, 10_000 * HOUR_MS + 24 * HOUR_MS + LATE + 1)
    assert "idem|nyc|historic" not in index.store


def test_a_partition_watermark_expires_only_that_partitions_entries():
    index = _live_index()
    _remember(index, "a", 0, partition=0)
    _remember(index, "b", 0, partition=1)
    _advance(index, 0, 100 * HOUR_MS)
    assert "idem|nyc|a" not in index.store and "idem|nyc|b" in index.store


def test_a_late_request_does_not_move_the_watermark_back():
    index = _live_index()
    _remember(index, "k", 0)
    _advance(index, 0, 30 * HOUR_MS)
    _advance(index, 0, 1 * HOUR_MS)
    assert index.watermarks[0] == 30 * HOUR_MS and "idem|nyc|k" not in index.store


def test_a_reused_key_keeps_its_newer_entry_when_the_old_one_falls_due():
    index = _live_index()
    _remember(index, "k", 0, request_id="first")
    _remember(index, "k", 26 * HOUR_MS, request_id="second")
    _advance(index, 0, 26 * HOUR_MS)
    assert index.store["idem|nyc|k"][0] == "second"


def test_duplicate_cells_are_trimmed_then_deleted_as_their_requests_leave_the_window():
    index = _live_index()
    index.add_open(request_id="old", near=_near(at_ms=0, window_h=1))
    index.clock.ms = HOUR_MS
    index.add_open(request_id="new", near=_near(lat=40.75801, at_ms=HOUR_MS, window_h=1))
    index.drain()
    _advance(index, 0, 2 * HOUR_MS + LATE)
    assert [e[0] for cell in index.store.values() for e in cell] == ["new"]
    _advance(index, 0, 3 * HOUR_MS + LATE)
    assert index.store == {} and index.drain()[-1][1] is None


def test_expiry_per_event_is_bounded_so_a_jump_of_the_watermark_never_stalls():
    index = _live_index()
    for n in range(100):
        _remember(index, f"k{n}", n)
    assert _advance(index, 0, 1_000 * HOUR_MS, limit=32) == 32 and len(index.store) == 68


def test_after_recovery_the_owned_partitions_entries_expire_again():
    first = _live_index()
    _remember(first, "mine", 0, partition=4)
    _remember(first, "theirs", 0, partition=5)
    first.add_open(request_id="open", near=_near(at_ms=0, window_h=1), partition=4)
    recovered = pipeline_index.IntakeIndex(dict(first.store), idempotency_window_ms=24 * HOUR_MS, clock=Clock())
    assert recovered.rebuild({4}) == 2
    _advance(recovered, 4, 1_000 * HOUR_MS)
    _advance(recovered, 5, 1_000 * HOUR_MS)
    assert set(recovered.store) == {"idem|nyc|theirs"}, "another worker's partition is left to that worker"


def test_entries_written_before_expiry_existed_are_kept():
    index = pipeline_index.IntakeIndex({"idem|nyc|k": ["r", 0]}, idempotency_window_ms=HOUR_MS, clock=Clock())
    assert index.rebuild({0}) == 0
    assert _advance(index, 0, 1_000 * HOUR_MS) == 0 and "idem|nyc|k" in index.store


_GAPS = st.one_of(st.integers(-LATE, 0), st.integers(0, 2 * HOUR_MS),
                  st.sampled_from([h * HOUR_MS + d for h in (6, 23, 24, 25) for d in (-1, 0, 1)]))


@settings(max_examples=300)
@given(steps=st.lists(st.tuples(st.integers(0, 2), _GAPS), min_size=1, max_size=60))
def test_expiry_never_changes_an_answer_for_requests_within_the_lateness(steps):
    """Against an index that forgets nothing: the same original for every request no more than LATENESS_MS
    behind the latest one, whatever the spacing of the requests."""
    expiring, keeping = _live_index(), _index()
    clock = watermark = 0
    for number, (key_no, gap) in enumerate(steps):
        clock = max(0, clock + gap)
        if clock < watermark - LATE:
            continue  # beyond the lateness the index promises nothing
        watermark = max(watermark, clock)
        key, request_id = f"k{key_no}", f"r{number}"
        answers = [i.original_for(jurisdiction_id="nyc", key=key, request_id=request_id, at_ms=clock)
                   for i in (expiring, keeping)]
        assert answers[0] == answers[1]
        if answers[0] is None:
            _remember(expiring, key, clock, request_id=request_id)
            keeping.remember_key(jurisdiction_id="nyc", key=key, request_id=request_id, at_ms=clock)
        _advance(expiring, 0, clock, limit=pipeline_index.EXPIRE_PER_EVENT)
