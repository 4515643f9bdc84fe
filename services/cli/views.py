"""How the CLI prints records: one JSON object per line, datetimes as ISO 8601, bytes as base64."""

import base64
import json
from datetime import UTC, datetime


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


TABLE_HEADER = f"{'partition':>9} {'offset':>8}  {'time (UTC)':<23}  {'key':<36}  event"
SUMMARY_WIDTH = 160


def table_line(delivered) -> str:
    """One event as a table row: partition, offset, broker time, key and the record's top-level plain fields."""
    stamp = datetime.fromtimestamp(delivered.timestamp_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    key = delivered.key.decode("utf-8", "replace") if delivered.key is not None else "-"
    if delivered.record is None:
        summary = f"UNDECODABLE {delivered.error} ({len(delivered.raw or b'')} bytes)"
    else:
        summary = " ".join(f"{field}={value}" for field, value in delivered.record.items()
                           if isinstance(value, (str, int, float, bool)) and field != "request_id"
                           and not (isinstance(value, str) and len(value) > 60))
    if len(summary) > SUMMARY_WIDTH:
        summary = summary[: SUMMARY_WIDTH - 1] + "…"
    return f"{delivered.partition:>9} {delivered.offset:>8}  {stamp[:23]:<23}  {key:<36}  {summary}"
