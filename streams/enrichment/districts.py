"""District per boundary layer of the request's point (none for requests located by address only)."""

from collections.abc import Mapping

from civicflow.streams.validation import imports as validation_imports


def lookup(*, jurisdiction, submission: Mapping) -> dict[str, str]:
    """{layer name: district id} for every layer with a polygon at the point; an import without a usable point
    keeps the districts its export names."""
    if submission["lat"] is None or submission["long"] is None:
        return validation_imports.recorded_districts(submission=submission,
                                                     layers={layer.name for layer in jurisdiction.geography.layers})
    return jurisdiction.geography.districts(lat=submission["lat"], lon=submission["long"])
