"""Point-in-polygon against a jurisdiction's boundary layers (shapely STR-trees, vectorised containment).

Boundary files trace shorelines, so a pier or a bridge approach can lie a few metres outside every polygon.
A tolerance in metres lets such points count as inside, with the districts of the nearest polygons.
Validation asks whether a point is inside and enrichment asks for its districts: both read one cached lookup.
"""

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

from streams.jurisdiction.exceptions import JurisdictionConfigError

_M_PER_DEG = 111_320.0
CACHE_SIZE = 65_536  # distinct points remembered: real requests repeat addresses


@dataclass(frozen=True)
class Layer:
    """The districts of one kind: polygons with their ids, indexed for point lookups."""

    name: str
    ids: tuple[str, ...]
    polygons: np.ndarray
    tree: shapely.STRtree

    def find(self, lon: float, lat: float, *, tolerance_deg: float = 0.0, point=None) -> str | None:
        """Id of the district that contains the point, else of the nearest within the tolerance, or None."""
        point = point if point is not None else shapely.Point(lon, lat)
        candidates = self.tree.query(point)
        if len(candidates):
            hits = candidates[shapely.contains_xy(self.polygons[candidates], lon, lat)]
            if len(hits):
                return self.ids[hits.min()]
        if tolerance_deg <= 0:
            return None
        nearest = self.tree.query_nearest(point, max_distance=tolerance_deg)
        return self.ids[nearest.min()] if len(nearest) else None


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
    return Layer(name=name, ids=tuple(ids), polygons=array, tree=shapely.STRtree(array))


class Geography:
    """The jurisdiction's area (the polygons of its extent layer) and its district layers."""

    def __init__(self, *, layers: list[Layer], extent: str, tolerance_m: float = 0.0) -> None:
        self.layers = layers
        self.extent = extent
        bounds = shapely.total_bounds(next(layer.polygons for layer in layers if layer.name == extent))
        # Degrees of longitude shrink away from the equator: the tolerance in degrees is the longitude one at
        # the area's centre, so it is at least tolerance_m in every direction there.
        centre_lat = (bounds[1] + bounds[3]) / 2
        self.tolerance_deg = tolerance_m / (_M_PER_DEG * max(math.cos(math.radians(centre_lat)), 0.01))
        self._locate = lru_cache(maxsize=CACHE_SIZE)(self._lookup)

    def contains(self, *, lat: float, lon: float) -> bool:
        """True when the point lies inside the jurisdiction, or within its tolerance of it."""
        return self.extent in self.districts(lat=lat, lon=lon)

    def districts(self, *, lat: float, lon: float) -> dict[str, str]:
        """District id per layer that has one at the point (none at all outside the jurisdiction)."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return {}
        return dict(self._locate(lat, lon))

    def _lookup(self, lat: float, lon: float) -> tuple[tuple[str, str], ...]:
        point = shapely.Point(lon, lat)
        found = []
        for layer in self.layers:
            district = layer.find(lon, lat, tolerance_deg=self.tolerance_deg, point=point)
            if district is not None:
                found.append((layer.name, district))
        if self.extent not in dict(found):
            return ()
        return tuple(found)
