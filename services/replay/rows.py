"""One row of a city's export → a submission and the agency updates it implies, by a mapping.

A row is a request the city's own system accepted, so a replay imports it as recorded: what this reader finds
wrong with a row (a placeholder point, a close before creation, a time it cannot read) becomes a warning that
travels with the submission (`import_record.warnings`), and the pipeline adds what live validation would refuse.
Only a row without an id or a readable creation time cannot be imported at all (`Unreadable`).
"""

import csv
import functools
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from civicflow.services.replay.mapping import Mapping, fold
from civicflow.streams.events import ids

UPDATE_ORDER = {"submission": 0, "resolved": 1, "closed": 2}
# Tried after the mapping's own formats and ISO 8601, in this order: the shapes US open-data portals and
# spreadsheets write (month first). A mapping that lists its formats never reaches an ambiguous one of these.
FALLBACK_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
                    "%m/%d/%y %I:%M:%S %p", "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M:%S", "%m/%d/%y %H:%M",
                    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%m/%d/%Y", "%Y/%m/%d")
_NO_POINT = ((0.0, 0.0),)
TIMES_KEPT = 250_000  # times remembered by text (about 60 MB at most): the week of NYC reads about 190,000


class Unreadable(ValueError):
    """A row that cannot become a request: no id, or no readable creation time."""


@dataclass(frozen=True, slots=True)
class RowEvent:
    """A submission or an update at an instant; sorts by time, then submission before resolved before closed."""

    at: datetime
    order: int
    kind: str        # submission, resolved or closed
    request_id: str
    row: dict


def read(path: Path) -> Iterator[dict]:
    """The export's rows as dicts keyed by column name (a byte-order mark before the header is ignored)."""
    for _, row in read_numbered(path):
        yield row


def read_numbered(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number where the row starts, row) for every row of the export."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        reader.fieldnames  # reads the header, so that line numbers count from the first row
        line = reader.line_num + 1
        for row in reader:
            yield line, row
            line = reader.line_num + 1


def header(path: Path) -> list[str]:
    """The export's column names."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def service_slug(text: str) -> str:
    """A stable service code for a service text: `Noise - Street/Sidewalk` → `noise-street-sidewalk`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "service-" + ids.uuid5(text)[:8]


def warning(code: str, message: str, field: str | None = None) -> dict:
    return {"code": code, "message": message, "field": field}


class RowReader:
    """Reads rows with one mapping against one jurisdiction's catalog and boundaries."""

    def __init__(self, *, mapping: Mapping, jurisdiction) -> None:
        self.mapping = mapping
        self.jurisdiction = jurisdiction
        self.zone = ZoneInfo(mapping.time_zone)
        self._services = {fold(s.service_name): s for s in jurisdiction.services.values()}
        self._formats = list(mapping.date_formats)
        # a replay reads each row's times twice (its plan, its submission): remembered by text
        self._remembered_time = functools.lru_cache(maxsize=TIMES_KEPT)(self._read_time)
        self._placeholders = tuple(mapping.location.placeholders) + _NO_POINT
        self._layers = {layer.name: {fold(i): i for i in layer.ids} for layer in jurisdiction.geography.layers}
        self._districts = {layer: {fold(k): v for k, v in spec.values.items()}
                           for layer, spec in mapping.districts.items()}

    # ---- times -------------------------------------------------------------------------------------------

    def time(self, text: str | None) -> datetime | None:
        """A time of the export as an aware UTC datetime (None when blank); ValueError when no format reads it.

        The mapping's formats are tried in order (the last that worked first), then ISO 8601, then
        FALLBACK_FORMATS; a time without an offset is the mapping's local time.
        """
        if not text or not text.strip():
            return None
        return self._remembered_time(text.strip())

    def _read_time(self, text: str) -> datetime:
        for n, fmt in enumerate(self._formats):
            try:
                naive = datetime.strptime(text, fmt)
            except ValueError:
                continue
            if n:
                self._formats.insert(0, self._formats.pop(n))
            return self._utc(naive)
        try:
            return self._utc(datetime.fromisoformat(text))
        except ValueError:
            pass
        for fmt in FALLBACK_FORMATS:
            try:
                naive = datetime.strptime(text, fmt)
            except ValueError:
                continue
            self._formats.append(fmt)  # tried among the mapping's own from now on
            return self._utc(naive)
        formats = ", ".join(self.mapping.date_formats) or "none"
        raise ValueError(f"time {text[:40]!r} matches none of the mapping's date formats ({formats}), ISO 8601 "
                         "or the common US forms: add its strptime format to date_format") from None

    def _utc(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(timezone.utc)

    def created(self, row: dict) -> datetime:
        """The creation time; Unreadable when the row has none or it cannot be read."""
        column = self.mapping.columns.created
        try:
            created = self.time(row.get(column))
        except ValueError as error:
            raise Unreadable(f"{column}: {error}") from None
        if created is None:
            raise Unreadable(f"no {column}")
        return created

    def closed(self, row: dict, *, created: datetime) -> tuple[datetime | None, list[dict]]:
        """The close time (at creation when the export says it came before) and the warnings about it."""
        column = self.mapping.columns.closed
        if not column:
            return None, []
        try:
            closed = self.time(row.get(column))
        except ValueError as error:
            return None, [warning("closed_unreadable", f"{column}: {error}; imported as not closed", column)]
        if closed is not None and closed < created:
            return created, [warning("closed_before_created", f"{column} {closed.isoformat()} is before the "
                                     f"creation; imported as closed at creation", column)]
        return closed, []

    def due(self, row: dict) -> tuple[datetime | None, list[dict]]:
        column = self.mapping.columns.due
        if not column:
            return None, []
        try:
            return self.time(row.get(column)), []
        except ValueError as error:
            return None, [warning("due_unreadable", f"{column}: {error}; imported without a due date", column)]

    # ---- ids ---------------------------------------------------------------------------------------------

    def request_id(self, row: dict) -> str:
        """Deterministic: replaying the same export again gives the same ids."""
        return ids.uuid5(f"{self.mapping.jurisdiction_id}/replay/{self.external_id(row)}")

    def external_id(self, row: dict) -> str:
        """The row's own id; Unreadable when it has none."""
        value = (row.get(self.mapping.columns.id) or "").strip()
        if not value:
            raise Unreadable(f"no {self.mapping.columns.id}")
        return value

    # ---- events ------------------------------------------------------------------------------------------

    def events(self, row: dict) -> list[RowEvent]:
        """The row's submission and, when it was closed, its resolved and closed updates; Unreadable when the
        row cannot become a request."""
        request_id, created = self.request_id(row), self.created(row)
        out = [RowEvent(created, 0, "submission", request_id, row)]
        closed, _ = self.closed(row, created=created)
        if closed is not None:
            out += [RowEvent(closed, UPDATE_ORDER[k], k, request_id, row) for k in ("resolved", "closed")]
        return out

    def request(self, row: dict, *, submitted_at: datetime | None = None, imported: bool = True) -> dict:
        """The submission as a request dict for the SDK; `submitted_at` moves it, keeping its due offset.

        `imported` (a replay): it carries `import_record`, the row's agency and the reader's warnings, and the
        pipeline imports it as recorded; otherwise (demo traffic) it is a live submission like any other.
        """
        columns, created = self.mapping.columns, self.created(row)
        moment = submitted_at or created
        text = (row.get(columns.service) or "").strip()
        service = self._service(text)
        warnings: list[dict] = []
        request = {
            "request_id": self.request_id(row), "jurisdiction_id": self.mapping.jurisdiction_id,
            "service_code": service.service_code if service else service_slug(text),
            "channel": self.mapping.channel(row.get(columns.channel or "")),
            "submitted_at": moment.isoformat(), "external_id": self.external_id(row),
            "attributes": self._attributes(row, service),
            "description": " - ".join(row[c].strip() for c in columns.description if (row.get(c) or "").strip())
            or None,
            "language": self.mapping.language,
        }
        due, due_warnings = self.due(row)
        warnings += due_warnings
        if due is not None:
            request["due_at"] = (moment + (due - created)).isoformat()
        location, location_warnings = self.location(row)
        request.update(location)
        warnings += location_warnings
        if imported:
            _, closed_warnings = self.closed(row, created=created)
            districts, district_warnings = self.recorded_districts(row)
            agency = self.agency(row)
            if agency is None:
                warnings.append(warning("agency_missing", f"no {columns.agency}: routed by the rules", columns.agency))
            request["import_record"] = {"agency": agency, "service_name": text or None, "districts": districts,
                                        "warnings": warnings + closed_warnings + district_warnings}
        return {k: v for k, v in request.items() if v not in (None, "", {})}

    def agency(self, row: dict) -> str | None:
        """The agency code of the row's agency (the mapping's agency table translates the export's text)."""
        return self.mapping.agency_code(row.get(self.mapping.columns.agency))

    def update(self, row: dict, *, kind: str, at: datetime) -> dict:
        """A resolved or closed update by the row's agency (which owns the imported request)."""
        request_id = self.request_id(row)
        return {"update_id": ids.uuid5(f"{request_id}/replay/{kind}"), "request_id": request_id,
                "jurisdiction_id": self.mapping.jurisdiction_id, "agency": self.agency(row) or "TRIAGE",
                "status": kind, "occurred_at": at, "note": None, "to_agency": None, "duplicate_of": None,
                "external_id": self.external_id(row)}

    def still_open(self, row: dict) -> bool:
        """True when the row has no closed date (its status, if mapped, says so too)."""
        try:
            if self.time(row.get(self.mapping.columns.closed or "", "")) is not None:
                return False
        except ValueError:
            pass
        status = row.get(self.mapping.columns.status or "", "")
        return not self.mapping.columns.status or status in self.mapping.open_statuses

    # ---- parts -------------------------------------------------------------------------------------------

    def service_of(self, text: str):
        """The catalog's service for an export's service text, or None."""
        return self._service(text.strip())

    def _service(self, text: str):
        code = self.mapping.service_code_for(text)
        if code is not None:
            return self.jurisdiction.services.get(code)
        return self._services.get(fold(text))

    def _attributes(self, row: dict, service) -> dict[str, str]:
        if service is None:
            return {}
        answers = {}
        for attribute in service.attributes:
            text = fold(row.get(self.mapping.attributes.get(attribute.code, ""), ""))
            key = next((v.key for v in attribute.values if fold(v.name) == text), None)
            if key is not None:
                answers[attribute.code] = key
        return answers

    def point(self, row: dict) -> tuple[tuple[float, float] | None, list[dict]]:
        """The row's (lat, long), None when it has none, or only a placeholder or unreadable one."""
        spec = self.mapping.location
        lat_text, lon_text = (row.get(spec.lat or "") or "").strip(), (row.get(spec.long or "") or "").strip()
        if not lat_text or not lon_text:
            return None, []
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            return None, [warning("location_unreadable", f"{spec.lat}/{spec.long} {lat_text[:30]!r}, "
                                  f"{lon_text[:30]!r} are not numbers; imported without a point", spec.lat)]
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return None, [warning("location_unreadable", f"{lat}, {lon} is not a point", spec.lat)]
        if any(abs(lat - p_lat) < 1e-9 and abs(lon - p_lon) < 1e-9 for p_lat, p_lon in self._placeholders):
            return None, [warning("placeholder_point", f"{lat}, {lon} is a placeholder the export writes for no "
                                  "point; imported without a point", spec.lat)]
        return (lat, lon), []

    def location(self, row: dict) -> tuple[dict, list[dict]]:
        spec, out = self.mapping.location, {}
        point, warnings = self.point(row)
        if point is not None:
            out["lat"], out["long"] = point
        address = next((row[c].strip() for c in spec.address if (row.get(c) or "").strip()), "")
        parts = [row[c].strip() for c in spec.intersection if (row.get(c) or "").strip()]
        if not address and len(parts) == len(spec.intersection) and parts:
            address = " & ".join(parts)
        if address:
            city = next((row[c].strip() for c in spec.city if (row.get(c) or "").strip()), "")
            out["address_string"] = f"{address}, {city}" if city else address
        if spec.address_id and (row.get(spec.address_id) or "").strip():
            out["address_id"] = row[spec.address_id].strip()
        return out, warnings

    def recorded_districts(self, row: dict) -> tuple[dict[str, str], list[dict]]:
        """{layer: district id} from the mapping's district columns, and warnings for texts no district has."""
        found, warnings = {}, []
        for layer, spec in self.mapping.districts.items():
            text = (row.get(spec.column) or "").strip()
            if not text:
                continue
            key = fold(text)
            district = self._districts[layer].get(key)
            if district == "":  # listed as no district (e.g. Unspecified)
                continue
            district = district or self._layers.get(layer, {}).get(key)
            if district is None or district not in self._layers.get(layer, {}).values():
                warnings.append(warning("district_unknown", f"{spec.column} {text[:60]!r} is no district of "
                                        f"layer {layer!r}", spec.column))
                continue
            found[layer] = district
        return found, warnings
