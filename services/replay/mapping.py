"""A mapping file: how the columns of a city's export become submissions and agency updates.

Keys of the tables (agencies, services, channels, district values) match the export's text case-insensitively and
with surrounding blanks ignored: exports write the same value as `PHONE`, `Phone` and `phone`.
"""

from pathlib import Path

import pydantic
import yaml
from pydantic import Field, PrivateAttr, field_validator

from civicflow.services.replay.exceptions import MappingError
from civicflow.streams.configuration import ConfigModel
from civicflow.streams import resources

MAPPINGS_DIR = resources.path("replay")


def fold(text: str | None) -> str:
    """The form in which an export's text is matched to a table key: stripped, case-folded."""
    return (text or "").strip().casefold()


class Columns(ConfigModel):
    """Column names of the export."""

    id: str = Field(description="the row's own id: the request's external_id")
    created: str = Field(description="when the request was made: a submission at that time")
    closed: str | None = Field(default=None, description="when it was closed: resolved and closed updates")
    due: str | None = Field(default=None, description="the agency's due date: the explicit due date")
    agency: str = Field(description="the agency that handled the row and sends its updates")
    agency_name: str | None = Field(default=None, description="the agency's full name (for `jurisdiction draft`)")
    service: str = Field(description="the service text, matched to the catalog")
    group: str | None = Field(default=None, description="the service's group, where the export has one")
    status: str | None = Field(default=None, description="the row's status, for open_statuses")
    channel: str | None = None
    description: list[str] = Field(default=[], description="columns joined with ' - ' as the description")

    def named(self) -> list[str]:
        """Every column this part of the mapping names."""
        single = [self.id, self.created, self.closed, self.due, self.agency, self.agency_name, self.service,
                  self.group, self.status, self.channel]
        return [c for c in single if c] + list(self.description)


class Location(ConfigModel):
    """How to build a location: coordinates, else an address, else an intersection."""

    lat: str | None = None
    long: str | None = None
    address: list[str] = []
    intersection: list[str] = []
    city: list[str] = Field(default=[], description="the first non-empty one is appended after a comma")
    address_id: str | None = None
    placeholders: list[tuple[float, float]] = Field(
        default=[], description="[lat, long] points the export writes when it has none (e.g. a city's centre): "
        "treated as no point; (0, 0) always is")

    def named(self) -> list[str]:
        return [c for c in (self.lat, self.long, self.address_id) if c] + self.address + self.intersection + self.city


class District(ConfigModel):
    """A column naming a boundary layer's district, for rows without a usable point."""

    column: str
    values: dict[str, str] = Field(default={}, description="export text → the layer's district id; text not "
                                   "listed is matched to the layer's ids case-insensitively")


class Mapping(ConfigModel):
    """A mapping file (deploy/replay/nyc311.yaml is the documented example)."""

    jurisdiction_id: str
    name: str | None = Field(default=None, description="the jurisdiction's name (for `jurisdiction draft`)")
    time_zone: str = Field(description="IANA time zone of the export's times")
    date_format: str | list[str] = Field(
        default=[], description="strptime format(s) of the export's times, tried in order; ISO 8601 times "
        "(2026-08-01 00:00:14.000000, 2026-08-01T00:04:08.000) are always understood")
    columns: Columns
    agencies: dict[str, str] = Field(default={}, description="agency text → agency code; text not listed is "
                                     "its own code")
    services: dict[str, str] = Field(default={}, description="service text → service_code, where the catalog's "
                                     "service_name does not match")
    attributes: dict[str, str] = Field(default={}, description="attribute code → column")
    channels: dict[str, str] = Field(default={}, description="channel text → channel")
    location: Location = Location()
    districts: dict[str, District] = Field(default={}, description="boundary layer → the column naming its "
                                           "district, used for rows without a usable point")
    open_statuses: list[str] = []
    language: str | None = Field(default=None, description="BCP 47 language of the export's text")
    _tables: dict = PrivateAttr(default_factory=dict)

    def model_post_init(self, context) -> None:
        self._tables = {name: {fold(k): v for k, v in getattr(self, name).items()}
                        for name in ("agencies", "channels", "services")}

    @field_validator("districts", mode="before")
    @classmethod
    def _short_districts(cls, value):
        """`layer: Column` is short for `layer: {column: Column}`."""
        if isinstance(value, dict):
            return {k: {"column": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def date_formats(self) -> tuple[str, ...]:
        return (self.date_format,) if isinstance(self.date_format, str) else tuple(self.date_format)

    def named_columns(self) -> list[str]:
        """Every column the mapping names, each once, in the mapping's order."""
        names = (self.columns.named() + list(self.attributes.values()) + self.location.named()
                 + [d.column for d in self.districts.values()])
        return list(dict.fromkeys(names))

    def required_columns(self) -> list[str]:
        """The columns without which no row can be read: id, created, service and agency."""
        c = self.columns
        return [c.id, c.created, c.service, c.agency]

    def agency_code(self, text: str | None) -> str | None:
        """The agency code of the export's agency text (None when blank)."""
        if not text or not text.strip():
            return None
        return self._folded("agencies").get(fold(text), text.strip())

    def channel(self, text: str | None) -> str:
        return self._folded("channels").get(fold(text), "other")

    def service_code_for(self, text: str) -> str | None:
        return self._folded("services").get(fold(text))

    def _folded(self, table: str) -> dict[str, str]:
        return self._tables[table]


def load(*, path: Path | None = None, format_name: str | None = None) -> Mapping:
    """The mapping in a file, or the named format's file in deploy/replay/."""
    if path is None:
        path = MAPPINGS_DIR / f"{format_name}.yaml"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in MAPPINGS_DIR.glob("*.yaml")))
            raise MappingError(f"no format {format_name!r}; known: {known} (or give --mapping FILE)")
    try:
        return Mapping.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as error:
        raise MappingError(f"{path}: cannot be read: {error}") from None
    except pydantic.ValidationError as error:
        lines = [f"  - {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
        raise MappingError(f"{path} is not a valid mapping:\n" + "\n".join(lines)) from None
