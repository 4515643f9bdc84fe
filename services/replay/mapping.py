"""A mapping file: how the columns of a city's export become submissions and agency updates."""

from pathlib import Path

import pydantic
import yaml
from pydantic import Field

from services.replay.exceptions import MappingError
from streams.configuration import ConfigModel
from streams.settings import REPO_ROOT

MAPPINGS_DIR = REPO_ROOT / "deploy" / "replay"


class Columns(ConfigModel):
    """Column names of the export."""

    id: str = Field(description="the row's own id: the request's external_id")
    created: str = Field(description="when the request was made: a submission at that time")
    closed: str | None = Field(default=None, description="when it was closed: resolved and closed updates")
    due: str | None = Field(default=None, description="the agency's due date: the explicit due date")
    agency: str = Field(description="the agency that sends the updates")
    service: str = Field(description="the service text, matched to the catalog")
    status: str | None = Field(default=None, description="the row's status, for open_statuses")
    channel: str | None = None
    description: list[str] = Field(default=[], description="columns joined with ' - ' as the description")


class Location(ConfigModel):
    """How to build a location: coordinates, else an address, else an intersection."""

    lat: str | None = None
    long: str | None = None
    address: list[str] = []
    intersection: list[str] = []
    city: list[str] = Field(default=[], description="the first non-empty one is appended after a comma")
    address_id: str | None = None


class Mapping(ConfigModel):
    """A mapping file (deploy/replay/nyc311.yaml is the documented example)."""

    jurisdiction_id: str
    time_zone: str = Field(description="IANA time zone of the export's times")
    date_format: str = Field(description="strptime format of the export's times")
    columns: Columns
    services: dict[str, str] = Field(default={}, description="service text → service_code, where the catalog's "
                                     "service_name does not match")
    attributes: dict[str, str] = Field(default={}, description="attribute code → column")
    channels: dict[str, str] = Field(default={}, description="channel text → channel")
    location: Location = Location()
    open_statuses: list[str] = []
    language: str | None = Field(default=None, description="BCP 47 language of the export's text")


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
