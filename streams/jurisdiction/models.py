"""The files of a jurisdiction directory, as typed models (unknown keys are errors, not silently ignored)."""

from typing import Literal

from pydantic import Field

from civicflow.streams.configuration import ConfigModel


class Agency(ConfigModel):
    """An agency that receives work; its code names its work topic (work.<jurisdiction>.<code>)."""

    name: str
    description: str | None = None


class BoundaryLayer(ConfigModel):
    """A GeoJSON file of polygons (lon/lat) whose features are the districts of one kind."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    file: str
    id_property: str


class Boundaries(ConfigModel):
    extent: str = Field(description="layer whose union is the jurisdiction's area")
    layers: list[BoundaryLayer] = Field(min_length=1)
    tolerance_m: float = Field(default=0.0, ge=0, le=1000,
                               description="a point this close to the area counts as inside it (shorelines, piers); "
                               "its districts are those of the nearest polygons")


class DuplicateSettings(ConfigModel):
    """An open request of the same service within radius_m and window_hours is a duplicate."""

    radius_m: float = Field(gt=0, le=5000)
    window_hours: float = Field(gt=0, le=24 * 90)


class JurisdictionFile(ConfigModel):
    """jurisdiction.yaml."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    time_zone: str
    agencies: dict[str, Agency] = Field(min_length=1)
    boundaries: Boundaries | None = Field(default=None, description="none: every point is inside and has no "
                                          "districts (a jurisdiction being drafted before its boundary files)")
    duplicates: DuplicateSettings | None = None


class AttributeValue(ConfigModel):
    key: str
    name: str


class Attribute(ConfigModel):
    """An Open311 service-definition attribute."""

    code: str
    variable: bool = True
    datatype: Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
    required: bool = False
    datatype_description: str | None = None
    order: int = 0
    description: str
    values: list[AttributeValue] = []


class Service(ConfigModel):
    """An Open311 service of the catalog, with the agency that handles it."""

    service_code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    service_name: str
    description: str = ""
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    keywords: list[str] = []
    group: str | None = None
    agency: str
    attributes: list[Attribute] = []
    duplicates: DuplicateSettings | None | Literal["default"] = "default"
    location_required: bool = Field(default=True, description="false: the service is about an account or a "
                                    "document, not a place, and a request without a location is accepted")

    @property
    def metadata(self) -> bool:
        """Open311 `metadata`: true when the service has a definition with attributes."""
        return bool(self.attributes)


class ServicesFile(ConfigModel):
    """services.yaml."""

    services: list[Service] = Field(min_length=1)


class Condition(ConfigModel):
    """What a rule matches; every given field must hold, and within a list any element may."""

    service_code: list[str] | None = None
    service_group: list[str] | None = None
    districts: dict[str, list[str]] | None = None
    priority: list[str] | None = None
    attributes: dict[str, list[str]] | None = None
    keywords: list[str] | None = Field(default=None, description="whole words in the description, any case")


class RoutingRule(ConfigModel):
    name: str
    when: Condition = Condition()
    agency: str | None = Field(description="the agency that gets the request; null sends it to triage, for a "
                               "person to route (no rule would otherwise: a service falls back to its own agency)")
    queue: str = "general"


class DefaultRoute(ConfigModel):
    agency: str
    queue: str = "general"


class RoutingFile(ConfigModel):
    """routing.yaml: first matching rule wins; without a default, no match goes to triage."""

    rules: list[RoutingRule]
    default: DefaultRoute | None = None


class PriorityRule(ConfigModel):
    name: str
    when: Condition
    priority: str


class PriorityFile(ConfigModel):
    """priority.yaml: first matching rule wins, else the default level."""

    levels: list[str] = Field(min_length=1)
    default: str
    rules: list[PriorityRule] = []

