"""NYC Open Data 311 rows → Open311-style request dicts (times in the CSV are New York local time)."""

import csv
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from streams.settings import REPO_ROOT

SAMPLE = REPO_ROOT.parent / "shared" / "data" / "nyc311" / "nyc311_sample_2011.csv"
NEW_YORK = ZoneInfo("America/New_York")
_CHANNELS = {"PHONE": "phone", "ONLINE": "web", "MOBILE": "mobile", "OTHER": "other", "UNKNOWN": "other"}


def read_rows(path: Path = SAMPLE) -> list[dict]:
    """The CSV's rows as dicts keyed by column name."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def local_time(text: str) -> datetime | None:
    """'MM/DD/YYYY hh:mm:ss AM' in New York local time → aware UTC datetime (None when blank)."""
    if not text:
        return None
    naive = datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p")
    return naive.replace(tzinfo=NEW_YORK).astimezone(timezone.utc)


def to_request(row: dict, *, jurisdiction, submitted_at: datetime | None = None) -> dict:
    """One request dict; `submitted_at` moves the request to another time, keeping its due-date offset."""
    created = local_time(row["Created Date"])
    due = local_time(row["Due Date"])
    moment = submitted_at or created
    service = _service_for(jurisdiction, row["Complaint Type"])
    request = {
        "jurisdiction_id": jurisdiction.id,
        "service_code": service.service_code if service else row["Complaint Type"],
        "channel": _CHANNELS.get(row["Open Data Channel Type"].upper(), "other"),
        "submitted_at": moment.isoformat(),
        "external_id": row["Unique Key"],
        "language": "en",
        "attributes": _attributes(row, service),
        "description": " - ".join(p for p in (row["Descriptor"], row["Location Type"]) if p) or None,
    }
    if due is not None:
        request["due_at"] = (moment + (due - created)).isoformat()
    request.update(_location(row))
    return {k: v for k, v in request.items() if v not in (None, "", {})}


def _service_for(jurisdiction, complaint_type: str):
    for service in jurisdiction.services.values():
        if service.service_name == complaint_type:
            return service
    return None


def _attributes(row: dict, service) -> dict[str, str]:
    if service is None:
        return {}
    answers = {}
    for attribute in service.attributes:
        column = {"descriptor": "Descriptor", "location_type": "Location Type"}.get(attribute.code)
        text = row.get(column or "", "")
        key = next((v.key for v in attribute.values if v.name == text), None)
        if key is not None:
            answers[attribute.code] = key
    return answers


def _location(row: dict) -> dict:
    out = {}
    if row["Latitude"] and row["Longitude"]:
        out["lat"], out["long"] = float(row["Latitude"]), float(row["Longitude"])
    address = row["Incident Address"] or _intersection(row)
    if address:
        out["address_string"] = f"{address}, {row['City'] or row['Borough']}".strip(", ")
    if row["BBL"]:
        out["address_id"] = row["BBL"]
    return out


def _intersection(row: dict) -> str:
    first, second = row["Intersection Street 1"], row["Intersection Street 2"]
    return f"{first} & {second}" if first and second else ""


def history(rows: list[dict], *, jurisdiction) -> Iterator[dict]:
    """The rows as requests at their own historical times, in order of creation."""
    dated = sorted(rows, key=lambda r: local_time(r["Created Date"]))
    for row in dated:
        yield to_request(row, jurisdiction=jurisdiction)


def shifted(row: dict, *, jurisdiction, now: datetime, jitter_s: float = 0.0) -> dict:
    """The row as if submitted now (its due date keeps the same distance from submission)."""
    return to_request(row, jurisdiction=jurisdiction, submitted_at=now - timedelta(seconds=jitter_s))
