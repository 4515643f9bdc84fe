"""District per boundary layer of the request's point (none for requests located by address only)."""

from collections.abc import Mapping


def lookup(*, jurisdiction, submission: Mapping) -> dict[str, str]:
    """{layer name: district id} for every layer with a polygon at the point."""
    if submission["lat"] is None or submission["long"] is None:
        return {}
    return jurisdiction.geography.districts(lat=submission["lat"], lon=submission["long"])
