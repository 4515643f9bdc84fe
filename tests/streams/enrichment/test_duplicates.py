"""Duplicate detection's rule and grid: the earliest open request within radius and window, found in the cells
a request looks in wherever it lies on the globe."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from civicflow.streams.enrichment import duplicates

HOUR_MS = 3_600_000


def near(lat=40.7580, lon=-73.9855, *, at_ms=0, radius_m=50.0, window_ms=HOUR_MS) -> duplicates.Nearby:
    return duplicates.Nearby(jurisdiction_id="nyc", service_code="noise-residential", lat=lat, lon=lon,
                             at_ms=at_ms, radius_m=radius_m, window_ms=window_ms)


def test_the_earliest_candidate_within_radius_and_window_is_the_original():
    candidates = [["late", 40.7580, -73.9855, 1_000], ["early", 40.7581, -73.9855, 500],
                  ["far", 40.7700, -73.9855, 0], ["old", 40.7580, -73.9855, -2 * HOUR_MS]]
    assert duplicates.duplicate_of(request_id="new", near=near(at_ms=2_000), candidates=candidates) == "early"


def test_a_request_seen_again_is_no_duplicate_of_anything():
    candidates = [["early", 40.7580, -73.9855, 0], ["new", 40.7580, -73.9855, 10]]
    assert duplicates.duplicate_of(request_id="new", near=near(at_ms=10), candidates=candidates) is None


def test_nothing_within_reach_is_an_original():
    assert duplicates.duplicate_of(request_id="new", near=near(), candidates=[]) is None


@settings(max_examples=300, deadline=None)
@given(lat=st.floats(-85.0, 85.0), lon=st.floats(-179.0, 179.0), radius_m=st.floats(1.0, 500.0),
       bearing=st.floats(0.0, 2 * math.pi), fraction=st.floats(0.0, 0.99))
def test_every_point_within_the_radius_is_indexed_in_a_cell_the_request_looks_in(lat, lon, radius_m, bearing,
                                                                                  fraction):
    here = near(lat, lon, radius_m=radius_m)
    d = fraction * radius_m
    other_lat = lat + d * math.cos(bearing) / duplicates.M_PER_DEG_LAT
    other_lon = lon + d * math.sin(bearing) / (duplicates.M_PER_DEG_LAT * math.cos(math.radians(other_lat)))
    if duplicates.distance_m(lat, lon, other_lat, other_lon) > radius_m:
        return  # the step above is approximate; only points the rule counts as near matter
    other = near(other_lat, other_lon, radius_m=radius_m)
    assert duplicates.home_cell(other) in duplicates.cells_around(here)
