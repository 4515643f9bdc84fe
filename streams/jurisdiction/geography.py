"""Point-in-polygon against a jurisdiction's boundary layers (shapely, prepared geometries, an STR-tree).

Boundary files trace shorelines, so a pier or a bridge approach can lie a few metres outside every polygon.
A tolerance in metres lets such points count as inside, with the districts of the nearest polygons.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import shape

from streams.jurisdiction.exceptions import JurisdictionConfigError

_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Layer:
    """The districts of one kind: polygons with their ids, indexed for point lookups."""

    name: str
    ids: tuple[str, ...]
    polygons: tuple
    tree: shapely.STRtree

    def find(self, lon: float, lat: float, *, tolerance_deg: float = 0.0) -> str | None:
        """Id of the district that contains the point, else of the nearest within the tolerance, or None."""
        point = shapely.Point(lon, lat)
        for index in self.tree.query(point):
            if shapely.contains_xy(self.polygons[index], lon, lat):
                return self.ids[index]
        if tolerance_deg <= 0:
            return None
        nearest = self.tree.query_nearest(point, max_distance=tolerance_deg)
        return self.ids[nearest[0]] if len(nearest) else None


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
        polygon = shape(feature["geometry"])
        shapely.prepare(polygon)
        ids.append(str(properties[id_property]))
        polygons.append(polygon)
    if not polygons:
        raise JurisdictionConfigError(f"{path}: no features")
    return Layer(name=name, ids=tuple(ids), polygons=tuple(polygons), tree=shapely.STRtree(polygons))


class Geography:
    """The jurisdiction's area (the union of its extent layer) and its district layers."""

    def __init__(self, *, layers: list[Layer], extent: str, tolerance_m: float = 0.0) -> None:
        self.layers = layers
        self.area = shapely.union_all([p for layer in layers if layer.name == extent for p in layer.polygons])
        shapely.prepare(self.area)
        # Degrees of longitude shrink away from the equator: the tolerance in degrees is the longitude one at
        # the area's centre, so it is at least tolerance_m in every direction there.
        centre_lat = self.area.centroid.y if not self.area.is_empty else 0.0
        self.tolerance_deg = tolerance_m / (_M_PER_DEG * max(math.cos(math.radians(centre_lat)), 0.01))

    def contains(self, *, lat: float, lon: float) -> bool:
        """True when the point lies inside the jurisdiction, or within its tolerance of it."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return False
        if shapely.contains_xy(self.area, lon, lat):
            return True
        return self.tolerance_deg > 0 and bool(shapely.dwithin(self.area, shapely.Point(lon, lat),
                                                               self.tolerance_deg))

    def districts(self, *, lat: float, lon: float) -> dict[str, str]:
        """District id per layer that has one at the point (layers without one are left out)."""
        found = {}
        for layer in self.layers:
            district = layer.find(lon, lat, tolerance_deg=self.tolerance_deg)
            if district is not None:
                found[layer.name] = district
        return found
