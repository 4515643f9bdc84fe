"""The report's figures, computed from read-model rows (pure functions: no database, no output).

- Requests: accepted requests requested in the period. Rejected submissions count only in `received` and
  `rejected` (the city row and the breakdown by channel); every other figure leaves them out.
- On time: of the requests whose resolve goal was settled (its last sla_met or sla_breached event), the share
  met. `open`: not settled and the request still open (its clock may still run). A request closed without a
  settlement (no resolve goal) is in none of met, breached or open.
- Time to close: closed_at − requested_at of closed requests, in hours; median and 90th percentile by linear
  interpolation between closest ranks (numpy's default, Excel's PERCENTILE.INC): p90 of 1..10 is 9.1. A close
  recorded before the request (bad source data) is left out of every time figure and of `closed`, and counted
  in `closed_before_requested`, so no time figure is ever negative.
- Gap (New York's Local Law 47 breakdown): a group's median time to close minus the city-wide median, in hours,
  and their ratio; agencies, services and districts are sorted worst (largest gap) first.
- Minimum count: a figure of a few requests ranks by chance. A group with some but fewer than `min_count` closed
  requests (the values behind its time figures) is `few_closed`: it stays in its section, after the ranked groups
  (by requests, then key; groups with no closed request come last), and is left out of gap rankings and
  highlights. One with some but fewer than `min_count` settled resolve goals is `few_settled`: left out of
  on-time rankings. A group with none has no figure to rank in the first place.
"""

import functools
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo

NONE = "(none)"
CITY = "city"
CHANNEL = "channel"
AGENCY = "agency"
SERVICE = "service"
FIXED_BREAKDOWNS = (CHANNEL, AGENCY, SERVICE)
DEFAULT_MIN_COUNT = 20


@dataclass(frozen=True)
class Names:
    """How codes read in the report: the jurisdiction's agency and service names, its boundary layers."""

    jurisdiction_id: str
    jurisdiction_name: str
    time_zone: tzinfo = timezone.utc
    agencies: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, str] = field(default_factory=dict)
    layers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """One line of the report: a group of requests (breakdown, key) and its figures. received/rejected are
    set for the city and the channels only."""

    breakdown: str
    key: str
    name: str
    requests: int
    closed: int
    met: int
    breached: int
    open: int
    on_time_rate: float | None
    median_hours: float | None
    p90_hours: float | None
    gap_hours: float | None = None
    gap_ratio: float | None = None
    received: int | None = None
    rejected: int | None = None
    closed_before_requested: int = 0   # closed requests left out of the time figures (close before request)
    few_closed: bool = False           # some closed requests, fewer than the minimum count: not ranked by time
    few_settled: bool = False          # some settled resolve goals, fewer than the minimum count: not ranked

    @property
    def settled(self) -> int:
        return self.met + self.breached


@dataclass(frozen=True)
class Report:
    """Every figure of one jurisdiction and period."""

    names: Names
    period_label: str
    city: Row
    sections: dict[str, list[Row]]                  # breakdown → rows, in report order
    first_requested_at: datetime | None = None
    last_requested_at: datetime | None = None
    min_count: int = DEFAULT_MIN_COUNT

    @property
    def layers(self) -> list[str]:
        """The district breakdowns (boundary layers) present."""
        return [name for name in self.sections if name not in FIXED_BREAKDOWNS]

    def rows(self) -> list[Row]:
        return [self.city, *(row for rows in self.sections.values() for row in rows)]


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile of values by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class _Group:
    __slots__ = ("requests", "met", "breached", "open", "hours", "misdated", "received", "rejected", "parents")

    def __init__(self) -> None:
        self.requests = self.met = self.breached = self.open = self.misdated = self.received = self.rejected = 0
        self.hours: list[float] = []
        self.parents: Counter = Counter()   # for a lower boundary layer: the first layer's districts seen

    def add(self, *, outcome: str | None, still_open: bool, hours: float | None, misdated: bool) -> None:
        self.requests += 1
        self.misdated += misdated
        if outcome == "met":
            self.met += 1
        elif outcome == "breached":
            self.breached += 1
        elif still_open:
            self.open += 1
        if hours is not None:
            self.hours.append(hours)


def compute(rows: Iterable[Mapping], outcomes: Mapping[str, str], names: Names, *, period_label: str,
            min_count: int = DEFAULT_MIN_COUNT) -> Report:
    """The report of rows (read-model requests, rejected ones included) and their resolve outcomes; groups with
    fewer than min_count closed requests (settled goals) are left out of the time (on-time) rankings."""
    city = _Group()
    groups: dict[str, dict[str, _Group]] = {name: {} for name in FIXED_BREAKDOWNS}
    located: list[tuple[dict, dict[str, str]]] = []   # (figures, districts) of each accepted request
    service_names = dict(names.services)
    first = last = None
    for row in rows:
        requested_at = row["requested_at"]
        first = requested_at if first is None or requested_at < first else first
        last = requested_at if last is None or requested_at > last else last
        channel = _group(groups[CHANNEL], row["channel"])
        channel.received += 1
        city.received += 1
        if row["status"] == "rejected":
            channel.rejected += 1
            city.rejected += 1
            continue
        figures = {"outcome": outcomes.get(row["request_id"]), "still_open": row["open311_status"] == "open",
                   "hours": _hours_to_close(row), "misdated": _closed_before_requested(row)}
        for group in (city, channel, _group(groups[AGENCY], row["agency"]),
                      _group(groups[SERVICE], row["service_code"])):
            group.add(**figures)
        if row["service_code"] and row.get("service_name"):
            service_names.setdefault(row["service_code"], row["service_name"])
        located.append((figures, _districts(row["districts"])))
    layers = _layer_order(names, {layer for _, districts in located for layer in districts})
    for figures, districts in located:
        for layer in layers:
            group = _group(groups.setdefault(layer, {}), districts.get(layer))
            group.add(**figures)
            if layer != layers[0] and layers[0] in districts:
                group.parents[districts[layers[0]]] += 1
    names_used = Names(jurisdiction_id=names.jurisdiction_id, jurisdiction_name=names.jurisdiction_name,
                       time_zone=names.time_zone, agencies=names.agencies, services=service_names,
                       layers=tuple(layers))
    city_row = _row(CITY, names.jurisdiction_id, names.jurisdiction_name, city, city_median=None, counts=True,
                    min_count=min_count)
    sections: dict[str, list[Row]] = {}
    for breakdown in (*FIXED_BREAKDOWNS, *layers):
        built = [_row(breakdown, key, _name(breakdown, key, group, names_used), group,
                      city_median=city_row.median_hours, counts=breakdown == CHANNEL, min_count=min_count)
                 for key, group in groups[breakdown].items()]
        if breakdown == CHANNEL:
            built.sort(key=lambda r: (-(r.received or 0), r.key))
        else:
            built.sort(key=worst_gap_first)
        sections[breakdown] = built
    return Report(names=names_used, period_label=period_label, city=city_row, sections=sections,
                  first_requested_at=first, last_requested_at=last, min_count=min_count)


def worst_gap_first(row: Row) -> tuple:
    """Sort key: groups with enough closed requests by gap, largest first; then the groups below the minimum
    count, unranked; then those without a gap (no closed request); unranked ones by requests, then key."""
    if row.gap_hours is None:
        return (2, 0.0, -row.requests, row.key)
    if row.few_closed:
        return (1, 0.0, -row.requests, row.key)
    return (0, -row.gap_hours, -row.requests, row.key)


def _group(groups: dict[str, _Group], key: str | None) -> _Group:
    key = key or NONE
    found = groups.get(key)
    if found is None:
        found = groups[key] = _Group()
    return found


def _hours_to_close(row: Mapping) -> float | None:
    closed_at, requested_at = row["closed_at"], row["requested_at"]
    if closed_at is None or requested_at is None or closed_at < requested_at:
        return None
    return (closed_at - requested_at).total_seconds() / 3600


def _closed_before_requested(row: Mapping) -> bool:
    closed_at, requested_at = row["closed_at"], row["requested_at"]
    return closed_at is not None and requested_at is not None and closed_at < requested_at


@functools.lru_cache(maxsize=8192)
def _districts(text: str | None) -> dict[str, str]:
    """{layer: district} of a request's districts JSON (cached: requests share few distinct values; callers
    must not change the dict)."""
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(layer): str(district) for layer, district in parsed.items() if district not in (None, "")}


def _layer_order(names: Names, seen: set[str]) -> list[str]:
    """Boundary layers: the jurisdiction's, in its order, then any other the data has (sorted). A layer named
    like a fixed breakdown (channel, agency, service) is left out."""
    seen = {name for name in seen if name not in FIXED_BREAKDOWNS}
    return [name for name in names.layers if name in seen] + sorted(seen - set(names.layers))


def _name(breakdown: str, key: str, group: _Group, names: Names) -> str:
    if key == NONE:
        return {AGENCY: "no agency (triage)", CHANNEL: "channel not recorded"}.get(breakdown, "not recorded")
    if breakdown == AGENCY:
        return names.agencies.get(key, key)
    if breakdown == SERVICE:
        return names.services.get(key, key)
    if group.parents:
        parent = group.parents.most_common(1)[0][0]
        return f"{key} ({parent})" if parent != key else key
    return key


def _row(breakdown: str, key: str, name: str, group: _Group, *, city_median: float | None, counts: bool,
         min_count: int) -> Row:
    settled = group.met + group.breached
    median = quantile(group.hours, 0.5)
    gap = ratio = None
    if median is not None and city_median is not None:
        gap = median - city_median
        ratio = median / city_median if city_median > 0 else None
    return Row(breakdown=breakdown, key=key, name=name, requests=group.requests, closed=len(group.hours),
               met=group.met, breached=group.breached, open=group.open,
               on_time_rate=group.met / settled if settled else None, median_hours=median,
               p90_hours=quantile(group.hours, 0.9), gap_hours=gap, gap_ratio=ratio,
               received=group.received if counts else None, rejected=group.rejected if counts else None,
               closed_before_requested=group.misdated, few_closed=0 < len(group.hours) < min_count,
               few_settled=0 < settled < min_count)
