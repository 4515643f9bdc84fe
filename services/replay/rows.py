"""One row of a city's export → a submission request and the agency updates it implies, by a mapping."""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from services.replay.mapping import Mapping
from streams.pipeline import ids

UPDATE_ORDER = {"submission": 0, "resolved": 1, "closed": 2}


@dataclass(frozen=True, slots=True)
class RowEvent:
    """A submission or an update at an instant; sorts by time, then submission before resolved before closed."""

    at: datetime
    order: int
    kind: str        # submission, resolved or closed
    request_id: str
    row: dict


def read(path: Path) -> Iterator[dict]:
    """The export's rows as dicts keyed by column name."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


class RowReader:
    """Reads rows with one mapping against one jurisdiction's catalog."""

    def __init__(self, *, mapping: Mapping, jurisdiction) -> None:
        self.mapping = mapping
        self.jurisdiction = jurisdiction
        self.zone = ZoneInfo(mapping.time_zone)
        self._services = {s.service_name.casefold(): s for s in jurisdiction.services.values()}

    def time(self, text: str | None) -> datetime | None:
        """A local time of the export as an aware UTC datetime (None when blank); ValueError when malformed."""
        if not text or not text.strip():
            return None
        naive = datetime.strptime(text.strip(), self.mapping.date_format)
        return naive.replace(tzinfo=self.zone).astimezone(timezone.utc)

    def request_id(self, row: dict) -> str:
        """Deterministic: replaying the same export again gives the same ids."""
        return ids.uuid5(f"{self.mapping.jurisdiction_id}/replay/{self.external_id(row)}")

    def external_id(self, row: dict) -> str:
        return row[self.mapping.columns.id]

    def events(self, row: dict) -> list[RowEvent]:
        """The row's submission and, when it was closed, its resolved and closed updates."""
        created, request_id = self.time(row[self.mapping.columns.created]), self.request_id(row)
        out = [RowEvent(created, 0, "submission", request_id, row)]
        closed = self.time(row.get(self.mapping.columns.closed or "", ""))
        if closed is not None:
            out += [RowEvent(closed, UPDATE_ORDER[k], k, request_id, row) for k in ("resolved", "closed")]
        return out

    def request(self, row: dict, *, submitted_at: datetime | None = None) -> dict:
        """The submission as a request dict for the SDK; `submitted_at` moves it, keeping its due offset."""
        columns, created = self.mapping.columns, self.time(row[self.mapping.columns.created])
        moment = submitted_at or created
        service = self._service(row[columns.service])
        request = {
            "request_id": self.request_id(row), "jurisdiction_id": self.mapping.jurisdiction_id,
            "service_code": service.service_code if service else row[columns.service],
            "channel": self.mapping.channels.get((row.get(columns.channel or "") or "").upper(), "other"),
            "submitted_at": moment.isoformat(), "external_id": self.external_id(row),
            "attributes": self._attributes(row, service),
            "description": " - ".join(row[c] for c in columns.description if row.get(c)) or None,
            "language": self.mapping.language,
        }
        due = self.time(row.get(columns.due or "", ""))
        if due is not None:
            request["due_at"] = (moment + (due - created)).isoformat()
        request.update(self._location(row))
        return {k: v for k, v in request.items() if v not in (None, "", {})}

    def update(self, row: dict, *, kind: str, at: datetime) -> dict:
        """A resolved or closed update by the row's agency."""
        request_id = self.request_id(row)
        return {"update_id": ids.uuid5(f"{request_id}/replay/{kind}"), "request_id": request_id,
                "jurisdiction_id": self.mapping.jurisdiction_id, "agency": row[self.mapping.columns.agency],
                "status": kind, "occurred_at": at, "note": None, "to_agency": None, "duplicate_of": None,
                "external_id": self.external_id(row)}

    def still_open(self, row: dict) -> bool:
        """True when the row has no closed date (its status, if mapped, says so too)."""
        if self.time(row.get(self.mapping.columns.closed or "", "")) is not None:
            return False
        status = row.get(self.mapping.columns.status or "", "")
        return not self.mapping.columns.status or status in self.mapping.open_statuses

    def _service(self, text: str):
        code = self.mapping.services.get(text)
        if code is not None:
            return self.jurisdiction.services.get(code)
        return self._services.get(text.casefold())

    def _attributes(self, row: dict, service) -> dict[str, str]:
        if service is None:
            return {}
        answers = {}
        for attribute in service.attributes:
            text = (row.get(self.mapping.attributes.get(attribute.code, ""), "") or "").casefold()
            key = next((v.key for v in attribute.values if v.name.casefold() == text), None)
            if key is not None:
                answers[attribute.code] = key
        return answers

    def _location(self, row: dict) -> dict:
        spec, out = self.mapping.location, {}
        lat, lon = row.get(spec.lat or ""), row.get(spec.long or "")
        if lat and lon:
            out["lat"], out["long"] = float(lat), float(lon)
        address = next((row[c] for c in spec.address if row.get(c)), "")
        parts = [row[c] for c in spec.intersection if row.get(c)]
        if not address and len(parts) == len(spec.intersection) and parts:
            address = " & ".join(parts)
        if address:
            city = next((row[c] for c in spec.city if row.get(c)), "")
            out["address_string"] = f"{address}, {city}" if city else address
        if spec.address_id and row.get(spec.address_id):
            out["address_id"] = row[spec.address_id]
        return out

