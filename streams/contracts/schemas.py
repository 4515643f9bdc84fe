"""The Avro schemas in schemas/: loading and parsing, keyed by record full name."""

import json
from functools import lru_cache
from pathlib import Path

import fastavro

from civicflow.streams import resources

SCHEMAS_DIR = resources.path("schemas")

SUBMITTED = "civicflow.requests.ServiceRequestSubmitted"
REJECTED = "civicflow.requests.RequestRejected"
ROUTED = "civicflow.requests.RequestRouted"
DEAD_LETTER = "civicflow.requests.DeadLetter"
UPDATE = "civicflow.requests.StatusUpdate"
LIFECYCLE = "civicflow.requests.LifecycleEvent"
CLOCK_TICK = "civicflow.requests.ClockTick"
NOTIFICATION = "civicflow.requests.CitizenNotification"


def full_name(schema: dict) -> str:
    """The record's full name (namespace.name): the schema's registry subject."""
    return f"{schema['namespace']}.{schema['name']}"


def read(path: Path) -> dict:
    """The JSON schema in a .avsc file."""
    return json.loads(path.read_text())


def parse(schema: dict) -> dict:
    """A fastavro-parsed schema (a private copy: parsing registers named types)."""
    return fastavro.parse_schema(schema, named_schemas={})


def canonical(schema: dict) -> str:
    """Parsing Canonical Form, for comparing schemas regardless of docs and spacing."""
    return fastavro.schema.to_parsing_canonical_form(schema)


@lru_cache(maxsize=1)
def current() -> dict[str, dict]:
    """The current schema of every record type, by full name (raw JSON)."""
    found = (read(path) for path in sorted(SCHEMAS_DIR.glob("*.avsc")))
    return {full_name(schema): schema for schema in found}
