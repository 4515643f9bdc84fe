"""JSON and XML renderings of GeoReport v2 documents, and the spec's error document.

A document is plain data: a list (JSON: an array; XML: the root element holding one item element each) or a dict
(an object; the root element's children). Nested lists take their item element names from ITEM_NAMES, as the
spec and the real cities' servers name them (services/service, attributes/attribute, values/value, ...).
"""

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from starlette.responses import Response

FORMATS = ("json", "xml")
DEFAULT_FORMAT = "xml"  # XML is the format every GeoReport v2 server must offer
MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
ITEM_NAMES = {
    "services": "service", "attributes": "attribute", "values": "value", "service_requests": "request",
    "endpoints": "endpoint", "formats": "format", "errors": "error", "notes": "note",
    "service_request_updates": "request_update",
}
# Characters XML 1.0 cannot carry at all (C0 controls but tab, newline and carriage return; surrogates; U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def format_of_path(path: str) -> str:
    """The format a URL asks for by its suffix (.json or .xml, any case); XML when it names neither."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    suffix = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    return suffix if suffix in FORMATS else DEFAULT_FORMAT


def w3c(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """A W3C datetime with the jurisdiction's UTC offset, to the second (2010-04-14T06:37:38-08:00). A stored time
    at the very edge of what a datetime holds (year 1, year 9999) that the zone's offset would carry out of range
    is given in UTC instead: any stored time renders."""
    local_moment = local(moment, zone)
    return None if local_moment is None else local_moment.isoformat(timespec="seconds")


def local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """The moment in the zone (a naive one is UTC); in UTC when the zone's offset would leave datetime's range."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(zone)
    except (OverflowError, ValueError):
        return moment.astimezone(timezone.utc)


def render(fmt: str, root: str, data, *, status: int = 200, headers: dict | None = None) -> Response:
    """The document as a response in the format the URL asked for: valid JSON (a stored NaN or infinity is
    null, as JSON has no such numbers) or well-formed XML, whatever the data holds."""
    data = _finite(data)
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
            "utf-8", errors="replace")
    else:
        body = xml_document(root, data)
    return Response(content=body, status_code=status, media_type=MEDIA_TYPES[fmt], headers=headers)


def _finite(value):
    """The document with every NaN and infinity replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


def errors(fmt: str, status: int, descriptions: Sequence[str], *, headers: dict | None = None) -> Response:
    """The spec's error document: one error per description, each with the HTTP status as its code."""
    items = [{"code": status, "description": text} for text in descriptions]
    return render(fmt, "errors", items, status=status, headers=headers)


def xml_document(root: str, data) -> bytes:
    element = ET.Element(root)
    _fill(element, root, data)
    text = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + text).encode("utf-8")


def _fill(element: ET.Element, name: str, value) -> None:
    if value is None:
        return
    if isinstance(value, list):
        item_name = ITEM_NAMES.get(name, "item")
        for item in value:
            _fill(ET.SubElement(element, item_name), item_name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("\ufffd", str(value))
