"""Point-in-polygon against a jurisdiction's boundary layers (shapely STR-trees, vectorised containment).

Boundary files trace shorelines, so a pier or a bridge approach can lie a few metres outside every polygon.
A tolerance in metres lets such points count as inside, with the districts of the nearest polygons.
Validation asks whether a point is inside and enrichment asks for its districts: both read one cached lookup.
A worker primes the cache for a whole batch of requests at once: one vectorised query per layer costs a few
microseconds a point, where a lookup of its own costs about twenty.
"""

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from civicflow.streams.jurisdiction.exceptions import JurisdictionConfigError

_M_PER_DEG = 111_320.0
CACHE_SIZE = 65_536  # distinct points remembered: real requests repeat addresses


@dataclass(frozen=True)
class Layer:
    """The districts of one kind: polygons with their ids, indexed for point lookups."""

    name: str
    ids: tuple[str, ...]
    polygons: np.ndarray
    tree: shapely.STRtree
    edges: shapely.STRtree  # every boundary segment, for the distance to a polygon from outside it
    edge_owner: np.ndarray  # the polygon of each segment

    def find(self, lon: float, lat: float, *, tolerance_deg: float = 0.0) -> str | None:
        """Id of the district that contains the point, else of the nearest within the tolerance, or None."""
        return self.find_many(np.array([lon]), np.array([lat]), tolerance_deg=tolerance_deg)[0]

    def find_many(self, lons: np.ndarray, lats: np.ndarray, *, tolerance_deg: float = 0.0) -> list[str | None]:
        """`find` for each point, with one query of the tree for all of them (and one more for those in no polygon).

        Where several polygons contain a point (touching borders), the first in the file wins.
        """
        points = shapely.points(lons, lats)
        inputs, candidates = self.tree.query(points)
        inside = shapely.contains_xy(self.polygons[candidates], lons[inputs], lats[inputs])
        none = len(self.ids)
        first = np.full(len(points), none)
        np.minimum.at(first, inputs[inside], candidates[inside])
        misses = np.flatnonzero(first == none)
        if tolerance_deg > 0 and len(misses):  # the nearest polygon within the tolerance, the first of equals
            # From outside, a polygon is as far as its nearest boundary segment: a tree of short segments finds
            # it with a few distances where a tree of polygons measures whole coastlines.
            near_inputs, nearest = self.edges.query_nearest(points[misses], max_distance=tolerance_deg)
            np.minimum.at(first, misses[near_inputs], self.edge_owner[nearest])
        return [self.ids[n] if n < none else None for n in first.tolist()]


def read_layer(*, name: str, path: Path, id_property: str) -> Layer:
    """A layer from a GeoJSON FeatureCollection of (multi)polygons in lon/lat."""
    try:
        features = json.loads(path.read_text())["features"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise JurisdictionConfigError(f"{path}: not a readable GeoJSON FeatureCollection ({error})") from None
    ids, polygons = [], []
    for number, feature in enumerate(features):
        properties = feature.get("properties") or {}
        if id_property not in properties:
            raise JurisdictionConfigError(f"{path}: feature {number} has no property {id_property!r}")
        polygons.append(shape(feature["geometry"]))
        ids.append(str(properties[id_property]))
    if not polygons:
        raise JurisdictionConfigError(f"{path}: no features")
    array = np.array(polygons, dtype=object)
    shapely.prepare(array)
    edges, edge_owner = _edges(array)
    return Layer(name=name, ids=tuple(ids), polygons=array, tree=shapely.STRtree(array), edges=shapely.STRtree(edges),
                 edge_owner=edge_owner)


def _edges(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every segment of the polygons' rings (holes too) as a two-point line, with the index of its polygon."""
    lines, line_owner = shapely.get_parts(shapely.boundary(polygons), return_index=True)
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    inner = line_of[1:] == line_of[:-1]  # consecutive points of one line
    segments = shapely.linestrings(np.stack([coords[:-1][inner], coords[1:][inner]], axis=1))
    return segments, line_owner[line_of[:-1][inner]]


class Geography:
    """The jurisdiction's area (the polygons of its extent layer) and its district layers."""

    def __init__(self, *, layers: list[Layer], extent: str | None, tolerance_m: float = 0.0) -> None:
        self.layers = layers
        self.extent = extent  # None (no boundary layers): every point is inside and has no districts
        self._cache: dict[tuple[float, float], dict[str, str]] = {}  # never handed out: callers get copies
        self.tolerance_deg = 0.0
        if extent is not None:
            bounds = shapely.total_bounds(next(layer.polygons for layer in layers if layer.name == extent))
            # Degrees of longitude shrink away from the equator: the tolerance in degrees is the longitude one
            # at the area's centre, so it is at least tolerance_m in every direction there.
            centre_lat = (bounds[1] + bounds[3]) / 2
            self.tolerance_deg = tolerance_m / (_M_PER_DEG * max(math.cos(math.radians(centre_lat)), 0.01))

    def contains(self, *, lat: float, lon: float) -> bool:
        """True when the point lies inside the jurisdiction, or within its tolerance of it."""
        if self.extent is None:
            return math.isfinite(lat) and math.isfinite(lon)
        return self.extent in self._found(lat, lon)

    def districts(self, *, lat: float, lon: float) -> dict[str, str]:
        """District id per layer that has one at the point (none at all outside the jurisdiction)."""
        return dict(self._found(lat, lon))

    def _found(self, lat: float, lon: float) -> dict[str, str]:
        if not (math.isfinite(lat) and math.isfinite(lon)) or not self.layers:
            return {}
        found = self._cache.get((lat, lon))
        if found is None:
            self.prime([(lat, lon)])
            found = self._cache[(lat, lon)]
        return found

    def prime(self, points: Iterable[tuple[float, float]]) -> None:
        """Look up every (lat, lon) not yet remembered, with one query per layer, and remember the answers.

        The cache keeps the CACHE_SIZE most recently added points; non-finite points are left out.
        """
        todo = list(dict.fromkeys(p for p in points if p not in self._cache and all(map(math.isfinite, p))))
        if not todo or not self.layers:
            return
        lats, lons = np.array(todo).T
        names = [layer.name for layer in self.layers]
        columns = [layer.find_many(lons, lats, tolerance_deg=self.tolerance_deg) for layer in self.layers]
        extent = columns[names.index(self.extent)]
        for point, row, inside in zip(todo, zip(*columns), extent):
            found = {name: id_ for name, id_ in zip(names, row) if id_ is not None}
            self._cache[point] = found if inside is not None else {}
        while len(self._cache) > CACHE_SIZE:
            self._cache.pop(next(iter(self._cache)), None)
