"""Intake index: idempotency window and duplicate detection by radius and time window."""

from hypothesis import given
from hypothesis import strategies as st

from streams.pipeline import index as pipeline_index

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
