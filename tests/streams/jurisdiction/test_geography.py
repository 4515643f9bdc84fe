"""Point-in-polygon on the NYC boundary layers, the shoreline tolerance, and reading GeoJSON layers."""

import json
import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from civicflow.streams.jurisdiction import geography as jurisdiction_geography
from civicflow.streams.jurisdiction.exceptions import JurisdictionConfigError
from civicflow.streams.settings import Settings

BOUNDARIES = Settings().jurisdictions_dir / "nyc" / "boundaries"
OFF_BROOKLYN_SHORE = (40.70471147654365, -73.9904638669343)  # ~8 m into the East River
OFF_CONEY_ISLAND = (40.5675, -73.9906)  # ~300 m out to sea


def layers() -> list:
    return [jurisdiction_geography.read_layer(name="borough", path=BOUNDARIES / "boroughs.geojson",
                                              id_property="BoroName"),
            jurisdiction_geography.read_layer(name="community_district",
                                              path=BOUNDARIES / "community_districts.geojson", id_property="BoroCD")]


LAYERS = layers()


@pytest.fixture(scope="module")
def nyc():
    """As deploy/jurisdictions/nyc/jurisdiction.yaml sets it up: 100 m of tolerance."""
    return jurisdiction_geography.Geography(layers=layers(), extent="borough", tolerance_m=100)


@pytest.fixture(scope="module")
def strict():
    return jurisdiction_geography.Geography(layers=layers(), extent="borough", tolerance_m=0)


@pytest.mark.parametrize("lat, lon, borough, district", [
    (40.7580, -73.9855, "Manhattan", "105"),  # Times Square
    (40.6608, -73.9986, "Brooklyn", "307"),  # Sunset Park
    (40.8751, -73.9090, "Manhattan", "208"),  # Marble Hill: in Manhattan, served by Bronx community board 8
])
def test_known_points(nyc, strict, lat, lon, borough, district):
    for geography in (nyc, strict):
        assert geography.contains(lat=lat, lon=lon)
        assert geography.districts(lat=lat, lon=lon) == {"borough": borough, "community_district": district}


@pytest.mark.parametrize("lat, lon", [(39.9526, -75.1652), OFF_CONEY_ISLAND, (0.0, 0.0)])
def test_points_elsewhere_are_outside_and_in_no_district(nyc, lat, lon):
    assert not nyc.contains(lat=lat, lon=lon)
    assert nyc.districts(lat=lat, lon=lon) == {}


def test_a_point_just_off_the_shoreline_counts_as_inside_thanks_to_the_tolerance(nyc, strict):
    lat, lon = OFF_BROOKLYN_SHORE
    assert nyc.contains(lat=lat, lon=lon)
    assert nyc.districts(lat=lat, lon=lon)["borough"] == "Brooklyn"
    assert set(nyc.districts(lat=lat, lon=lon)) == {"borough", "community_district"}
    assert not strict.contains(lat=lat, lon=lon)
    assert strict.districts(lat=lat, lon=lon) == {}


def test_the_tolerance_is_at_least_the_metres_in_every_direction(nyc):
    metres_per_degree_of_longitude = 111_320 * math.cos(math.radians(40.7))
    assert nyc.tolerance_deg * metres_per_degree_of_longitude == pytest.approx(100, rel=0.01)


@pytest.mark.parametrize("lat, lon", [(math.nan, -73.9855), (40.7580, math.inf)])
def test_non_finite_points_are_outside(nyc, lat, lon):
    assert not nyc.contains(lat=lat, lon=lon)


NYC_POINTS = st.lists(st.tuples(st.floats(40.45, 40.95), st.floats(-74.3, -73.65)), min_size=1, max_size=40)


def _first_containing(layer, lon: float, lat: float) -> str | None:
    """The reference: every polygon in file order, no tree."""
    return next((layer.ids[n] for n, polygon in enumerate(layer.polygons) if shapely.contains_xy(polygon, lon, lat)),
                None)


@settings(max_examples=40, deadline=None)
@given(points=NYC_POINTS)
def test_one_query_for_many_points_finds_what_a_scan_of_every_polygon_finds(points):
    lats, lons = np.array(points).T
    for layer in LAYERS:
        assert layer.find_many(lons, lats) == [_first_containing(layer, lon, lat) for lat, lon in points]


def _nearest_within(layer, lon: float, lat: float, tolerance_deg: float) -> str | None:
    """The reference off the polygons: the nearest within the tolerance, the first in file order of equals."""
    distances = shapely.distance(layer.polygons, shapely.Point(lon, lat))
    best = distances.min()
    return layer.ids[int(np.flatnonzero(distances == best)[0])] if best <= tolerance_deg else None


SHORE_POINTS = st.lists(st.tuples(st.floats(40.55, 40.80), st.floats(-74.05, -73.75)), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(points=SHORE_POINTS, tolerance_deg=st.sampled_from([0.0005, 0.002, 0.01]))
def test_with_a_tolerance_points_in_no_polygon_take_the_nearest_one_within_it(points, tolerance_deg):
    lats, lons = np.array(points).T
    for layer in LAYERS:
        expected = [_first_containing(layer, lon, lat) or _nearest_within(layer, lon, lat, tolerance_deg)
                    for lat, lon in points]
        assert layer.find_many(lons, lats, tolerance_deg=tolerance_deg) == expected


@settings(max_examples=40, deadline=None)
@given(points=NYC_POINTS)
def test_a_primed_batch_gives_each_point_the_districts_of_its_own_lookup(points):
    primed = jurisdiction_geography.Geography(layers=LAYERS, extent="borough", tolerance_m=100)
    primed.prime(points + [(math.nan, -74.0)])
    alone = [jurisdiction_geography.Geography(layers=LAYERS, extent="borough", tolerance_m=100)
             .districts(lat=lat, lon=lon) for lat, lon in points]
    assert [primed.districts(lat=lat, lon=lon) for lat, lon in points] == alone


def test_the_cache_keeps_only_the_latest_points(monkeypatch, nyc):
    monkeypatch.setattr(jurisdiction_geography, "CACHE_SIZE", 3)
    geography = jurisdiction_geography.Geography(layers=LAYERS, extent="borough", tolerance_m=100)
    points = [(40.70 + n / 1000, -73.95) for n in range(5)]
    geography.prime(points)
    assert list(geography._cache) == points[2:]
    assert geography.districts(lat=40.70, lon=-73.95) == nyc.districts(lat=40.70, lon=-73.95), "looked up again"


def test_where_polygons_overlap_the_first_in_the_file_wins(tmp_path):
    path = _write(tmp_path / "two.geojson", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "a"}, "geometry": SQUARE},
        {"type": "Feature", "properties": {"code": "b"}, "geometry": SQUARE}]})
    layer = jurisdiction_geography.read_layer(name="zone", path=path, id_property="code")
    assert layer.find_many(np.array([0.5, 2.0, 0.25]), np.array([0.5, 2.0, 0.75])) == ["a", None, "a"]


def _write(path, document) -> object:
    path.write_text(json.dumps(document))
    return path


SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


def test_a_layer_of_one_square(tmp_path):
    path = _write(tmp_path / "square.geojson", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": 7}, "geometry": SQUARE}]})
    layer = jurisdiction_geography.read_layer(name="zone", path=path, id_property="code")
    assert layer.find(0.5, 0.5) == "7", "ids are text"
    assert layer.find(1.5, 0.5) is None
    assert layer.find(1.0001, 0.5, tolerance_deg=0.001) == "7"


@pytest.mark.parametrize("document, message", [
    (None, "not a readable GeoJSON FeatureCollection"),
    ({"type": "FeatureCollection", "features": []}, "no features"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "x"}, "geometry": SQUARE}]},
     "feature 0 has no property 'code'"),
])
def test_unusable_layer_files(tmp_path, document, message):
    path = tmp_path / "layer.geojson"
    if document is not None:
        _write(path, document)
    with pytest.raises(JurisdictionConfigError, match=message):
        jurisdiction_geography.read_layer(name="zone", path=path, id_property="code")
