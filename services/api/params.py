"""Parsing of query parameters and form bodies. Parsers add a message to `problems` and return None instead of
raising, so that one answer can list every problem of a request at once."""

import re
from datetime import date, datetime, time, timezone
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

from starlette.requests import ClientDisconnect, Request

from civicflow.services.api.exceptions import BadRequest
from civicflow.streams.validation import bounds as validation_bounds

MAX_BODY_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_ECHO = 80                 # characters of a bad value repeated in an error description
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")
_EARLIEST, _LATEST = 1900, 2999  # dates outside these years are typos, and keep window arithmetic in range


def echo(value: str) -> str:
    """A client's value, shortened and quoted, for an error description."""
    text = value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "..."
    return repr(text)


def text_list(values: list[str]) -> list[str]:
    """Comma lists, possibly given several times (a=x,y&a=z), as one list without blanks or repeats."""
    items = (item.strip() for value in values for item in value.split(","))
    return list(dict.fromkeys(item for item in items if item))


def moment(name: str, value: str | None, *, zone: ZoneInfo, problems: list[str]) -> datetime | None:
    """A W3C / ISO 8601 datetime as aware UTC. A date alone is its midnight, and a time without offset is local
    time, both in the jurisdiction's time zone."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) > 40:
            raise ValueError(text)
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), time(0))
        else:
            parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        if not _EARLIEST <= parsed.year <= _LATEST:
            raise ValueError(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        problems.append(f"{name} must be a W3C datetime such as 2010-04-14T06:37:38-08:00, got {echo(value)}")
        return None


def integer(name: str, value: str | None, *, minimum: int, maximum: int, problems: list[str]) -> int | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d{1,9}", text) or not minimum <= int(text) <= maximum:
        problems.append(f"{name} must be a whole number from {minimum} to {maximum}, got {echo(value)}")
        return None
    return int(text)


def boolean(name: str, value: str | None, *, problems: list[str]) -> bool:
    if value is None:
        return False
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text not in _FALSE:
        problems.append(f"{name} must be true or false, got {echo(value)}")
    return False


def number(name: str, value: str | None, *, problems: list[str]) -> str | None:
    """A finite decimal number in ASCII digits, kept as the text the client sent (to_record converts it)."""
    if value is None or not value.strip():
        return None
    if validation_bounds.parse_number(value) is None:
        problems.append(f"{name} must be a number (finite, decimal, ASCII digits), got {echo(value)}")
        return None
    return value.strip()


async def form(request: Request, *, limit: int = MAX_BODY_BYTES) -> list[tuple[str, str]]:
    """The body's fields, in order, as the spec posts them (application/x-www-form-urlencoded, UTF-8).
    Raises BadRequest for another content type, a body over `limit` bytes or a malformed encoding."""
    media_type, _, options = request.headers.get("content-type", "").partition(";")
    if media_type.strip().lower() != FORM_TYPE:
        raise BadRequest(f"the body must be {FORM_TYPE} (as GeoReport v2 posts it), "
                         f"got {echo(media_type.strip() or 'no Content-Type')}")
    charset = re.search(r"charset\s*=\s*\"?([\w.-]+)", options, re.I)
    if charset and charset.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise BadRequest(f"the body must be UTF-8, got charset {echo(charset.group(1))}")
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise BadRequest(f"the body is larger than {limit} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise BadRequest(f"the body is larger than {limit} bytes")
    except ClientDisconnect:  # the client's fault, not the server's: a 400, never a 500
        raise BadRequest(f"the client closed the connection after {len(body)} bytes of the body"
                         + (f" (Content-Length {declared.strip()})" if declared.strip() else "")) from None
    if declared.strip().isdigit() and len(body) != int(declared):
        raise BadRequest(f"the body has {len(body)} bytes, its Content-Length says {declared.strip()}")
    return parse_form(bytes(body))


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """name=value pairs joined by &, percent-encoded UTF-8 ('+' is a space); empty segments are skipped."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8 text") from None
    if _BAD_PERCENT.search(text):
        raise BadRequest("the body is not valid form encoding: '%' must be followed by two hex digits")
    pairs = []
    for segment in text.split("&"):
        if not segment.strip():
            continue
        if "=" not in segment:
            raise BadRequest(f"the body is not valid form encoding: {echo(segment)} has no '='")
        name, value = segment.split("=", 1)
        try:
            pairs.append((unquote_plus(name, errors="strict"), unquote_plus(value, errors="strict")))
        except UnicodeDecodeError:
            raise BadRequest("the body is not valid form encoding: a percent-escape is not UTF-8") from None
    return pairs
