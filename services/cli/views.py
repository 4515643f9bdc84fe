"""How the CLI prints records: one JSON object per line, datetimes as ISO 8601, bytes as base64."""

import base64
import json
from datetime import datetime


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"cannot print {type(value).__name__}")


def json_line(value) -> str:
    """One compact JSON line."""
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def topics_table(specs) -> str:
    """The topics as a Markdown table (the README's)."""
    rows = ["| topic | key | value schema | producers | consumers |", "|---|---|---|---|---|"]
    rows += [f"| `{s.name}` | {s.key} | {s.schema or 'JSON (Faust table changelog)'} | {s.producers} | "
             f"{s.consumers} |" for s in specs]
    return "\n".join(rows)
