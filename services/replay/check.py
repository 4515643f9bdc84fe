"""`civicflow replay EXPORT --check`: what a replay would meet in an export, found without a broker.

Reads every row through the replay's own reader and counts what matches nothing (service texts, channels,
agencies) and the anomalies a replay turns into warnings, so that a mapping is fixed before a run, not after.
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from civicflow.services.replay import rows as replay_rows
from civicflow.services.replay.mapping import fold

ANOMALIES = {
    "no_location": "no point, address or district",
    "placeholder_point": "a placeholder point (treated as none)",
    "outside_boundary": "a point outside every boundary",
    "due_not_after_created": "a due date not after creation (ignored)",
    "closed_before_created": "closed before creation (closed at creation)",
    "unreadable_time": "a closed or due time no date format reads",
}


@dataclass
class CheckReport:
    """What `--check` found."""

    path: Path
    rows: int = 0
    missing_columns: list[str] = field(default_factory=list)
    required_missing: list[str] = field(default_factory=list)
    services: Counter = field(default_factory=Counter)             # service text → rows
    unmatched_services: Counter = field(default_factory=Counter)   # not in the catalog
    unmatched_channels: Counter = field(default_factory=Counter)   # not in the mapping's channel table
    unknown_agencies: Counter = field(default_factory=Counter)     # agency codes the jurisdiction does not list
    anomalies: Counter = field(default_factory=Counter)
    unreadable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when a named column is missing or no row can be read: a replay would not be meaningful."""
        return not self.missing_columns and self.rows > len(self.unreadable)


def check(*, reader: replay_rows.RowReader, path: Path) -> CheckReport:
    """Read the whole export; never raises for a row's content."""
    mapping, report = reader.mapping, CheckReport(path=Path(path))
    columns = set(replay_rows.header(path))
    report.missing_columns = [c for c in mapping.named_columns() if c not in columns]
    report.required_missing = [c for c in mapping.required_columns() if c not in columns]
    if report.required_missing:
        return report
    channels = {fold(k) for k in mapping.channels}
    agencies = set(reader.jurisdiction.agency_names)
    for line, row in replay_rows.read_numbered(path):
        report.rows += 1
        try:
            reader.external_id(row)
            created = reader.created(row)
        except replay_rows.Unreadable as error:
            report.unreadable.append((line, str(error)))
            continue
        text = (row.get(mapping.columns.service) or "").strip()
        report.services[text] += 1
        if reader.service_of(text) is None:
            report.unmatched_services[text] += 1
        if mapping.columns.channel:
            channel = (row.get(mapping.columns.channel) or "").strip()
            if fold(channel) not in channels:
                report.unmatched_channels[channel] += 1
        agency = reader.agency(row)
        if agency not in agencies:
            report.unknown_agencies[agency or "(blank)"] += 1
        _anomalies(report.anomalies, reader, row, created)
    return report


def _anomalies(counts: Counter, reader, row: dict, created) -> None:
    closed, closed_warnings = reader.closed(row, created=created)
    due, due_warnings = reader.due(row)
    codes = {w["code"] for w in closed_warnings + due_warnings}
    if codes & {"closed_unreadable", "due_unreadable"}:
        counts["unreadable_time"] += 1
    if "closed_before_created" in codes:
        counts["closed_before_created"] += 1
    if due is not None and due <= created:
        counts["due_not_after_created"] += 1
    point, point_warnings = reader.point(row)
    if any(w["code"] == "placeholder_point" for w in point_warnings):
        counts["placeholder_point"] += 1
    if point is not None and not reader.jurisdiction.geography.contains(lat=point[0], lon=point[1]):
        counts["outside_boundary"] += 1
    districts, _ = reader.recorded_districts(row)
    location, _ = reader.location(row)
    if point is None and not districts and not location.get("address_string") and not location.get("address_id"):
        counts["no_location"] += 1
