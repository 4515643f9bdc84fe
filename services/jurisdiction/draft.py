"""`civicflow jurisdiction draft`: a jurisdiction directory drafted from a city's export.

The export is read by the replay's own reader (services/replay/rows.py) through the replay's mapping, so a draft
names what a later replay of the same export looks for: a service text becomes the service the replay matches it
to (the catalog's, by name or by the mapping's services table) or, for a text the catalog does not list, a service
whose code is `service_slug(text)`, the code a replay gives such a text; an agency text becomes the mapping's agency
code. The anomalies counted are `civicflow replay --check`'s (services/replay/check.py).

Run again into the same directory (a newer export, another city file), the draft adds what is new: services,
agencies, attribute values, boundary layers, and SLA policies for services that no policy names yet. It changes
nothing that is there. New entries are inserted into the files' text, so a person's edits and comments stay;
only where a list or mapping that has to grow is written in flow style (`[...]`, `{...}`) is the file written anew
from its data, without its comments, and the run says so.

How the draft decides (DRAFT.md repeats it):
- location_required: true when at least 95 % of a service's rows have a location (a point, an address or an
  address id), else false.
- attribute values: the 50 most frequent texts of the attribute's column per service (an attribute that already
  has values grows to at most 50); the review names the attributes that had more.
- the resolve target of a service is the median (the lower middle one) of its due offsets (due - created, rows
  whose due date is after creation):
  * whole days `PnD` (local calendar days) when at least 90 % of the offsets are whole local days (the due date
    at the same local wall time as the creation);
  * else on a business calendar, counted in its opening hours (`PTnH`, clock business), when the service has at
    least 3 due dates and every one falls within Monday-Friday 08:00-18:00 local time (or within the opening
    hours of the sla.yaml's own `business` calendar when it has one); a calendar the draft adds is open
    Monday-Friday 08:00-18:00, without holidays, for a person to set to the city's own hours;
  * else exact hours `PTnH` on the calendar clock.
"""

import csv
import json
import re
import shutil
import statistics
import time as timer
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from civicflow.services.jurisdiction import views
from civicflow.services.jurisdiction.exceptions import DraftError
from civicflow.services.replay import check as replay_check
from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.services.replay.exceptions import ReplayError
from civicflow.services.replay.mapping import Mapping, fold
from civicflow.streams.jurisdiction import geography as jurisdiction_geography
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.jurisdiction.exceptions import JurisdictionConfigError
from civicflow.streams.jurisdiction.models import Service
from civicflow.streams.sla import models as sla_models
from civicflow.streams.sla import policy as sla_policy

LOCATION_REQUIRED_SHARE = 0.95
MAX_VALUES = 50
WHOLE_DAYS_SHARE = 0.9
BUSINESS_WINDOW = (time(8), time(18))
BUSINESS_MIN_DUES = 3
BUSINESS = "business"
LEVELS = ["low", "normal", "high", "urgent"]
UNASSIGNED = "UNASSIGNED"
_LISTS = ("singlevaluelist", "multivaluelist")
_LAYER_NAME = r"^[a-z][a-z0-9_]*$"


# ---- boundaries ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BoundarySpec:
    """One `--boundaries LAYER=FILE[:PROPERTY]`."""

    layer: str
    path: Path
    property: str | None = None


def parse_boundary(text: str) -> BoundarySpec:
    """LAYER=FILE[:PROPERTY]; a FILE that exists as given keeps any colon it has."""
    layer, sep, rest = text.partition("=")
    layer, rest = layer.strip(), rest.strip()
    if not sep or not layer or not rest:
        raise DraftError(f"--boundaries {text!r}: give LAYER=FILE or LAYER=FILE:PROPERTY")
    path, prop = Path(rest), None
    if not path.is_file() and ":" in rest:
        head, _, prop = rest.rpartition(":")
        path = Path(head)
    if not re.match(_LAYER_NAME, layer):
        raise DraftError(f"--boundaries {text!r}: a layer name is lower case letters, digits and underscores, "
                         "starting with a letter (e.g. borough)")
    if not path.is_file():
        raise DraftError(f"--boundaries {text!r}: {path}: no such file")
    return BoundarySpec(layer=layer, path=path, property=prop.strip() if prop else None)


def _features(path: Path) -> list[dict]:
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DraftError(f"{path}: not a readable GeoJSON FeatureCollection ({error})") from None
    if not isinstance(features, list) or not features:
        raise DraftError(f"{path}: no features")
    return features


def district_property(path: Path) -> tuple[str, list[str]]:
    """(the property chosen to name a feature's district, every property with a distinct value on each feature).

    Candidates have a non-blank value on every feature, all distinct, and are not fractional numbers (areas,
    lengths); text is preferred to numbers and a name (`...name...`) to other text, then the file's order.
    """
    features = _features(path)
    properties = [f.get("properties") or {} for f in features]
    names = list(dict.fromkeys(k for p in properties for k in p))
    unique = []
    for name in names:
        values = [p.get(name) for p in properties]
        if any(v is None or str(v).strip() == "" or isinstance(v, (dict, list)) for v in values):
            continue
        if any(isinstance(v, float) and not v.is_integer() for v in values):
            continue
        if len({str(v) for v in values}) == len(values):
            unique.append(name)
    if not unique:
        raise DraftError(f"{path}: no property has a distinct value on every feature (properties: "
                         f"{', '.join(names) or 'none'}); name one as LAYER=FILE:PROPERTY")

    def rank(name: str) -> tuple:
        text = all(isinstance(p[name], str) for p in properties)
        return (not text, "name" not in name.lower(), names.index(name))

    return min(unique, key=rank), unique


@dataclass
class LayerPlan:
    """A boundary layer of the draft: where it comes from, what it is called, what names its districts."""

    spec: BoundarySpec
    id_property: str
    unique: list[str]
    file: str               # relative to the jurisdiction directory
    layer: object = None    # the read geography layer

    @property
    def chosen(self) -> bool:
        """True when the draft picked the property (none was given)."""
        return self.spec.property is None


def _plan_layer(spec: BoundarySpec) -> LayerPlan:
    if spec.property is None:
        chosen, unique = district_property(spec.path)
    else:
        chosen, unique = spec.property, []
    try:
        layer = jurisdiction_geography.read_layer(name=spec.layer, path=spec.path, id_property=chosen)
    except JurisdictionConfigError as error:
        raise DraftError(f"--boundaries {spec.layer}: {error}") from None
    return LayerPlan(spec=spec, id_property=chosen, unique=unique, file=f"boundaries/{spec.path.name}", layer=layer)


# ---- reading the export --------------------------------------------------------------------------------------

@dataclass
class Catalog:
    """What the replay's reader (and its check) reads of a jurisdiction, for an export read before the
    jurisdiction exists: its services by code, its geography and its agencies."""

    services: dict
    geography: object
    agency_names: dict


@dataclass
class ServiceSeen:
    """One service as the export shows it."""

    code: str
    matched: str | None = None                               # the catalog's service the texts matched, if any
    rows: int = 0
    located: int = 0
    texts: Counter = field(default_factory=Counter)          # service text → rows
    agencies: Counter = field(default_factory=Counter)       # agency code → rows
    groups: Counter = field(default_factory=Counter)
    values: dict[str, Counter] = field(default_factory=dict)  # attribute code → text → rows
    offsets: list[tuple[datetime, datetime]] = field(default_factory=list)  # (created, due), due after created

    @property
    def name(self) -> str:
        return _most_common(self.texts)

    @property
    def agency(self) -> str | None:
        return _most_common(self.agencies) if self.agencies else None

    @property
    def group(self) -> str | None:
        return _most_common(self.groups) if self.groups else None


@dataclass
class Survey:
    """Everything the draft takes from the export, in one pass over its rows."""

    services: dict[str, ServiceSeen] = field(default_factory=dict)
    agency_names: dict[str, Counter] = field(default_factory=dict)   # agency code → names in the export
    agency_rows: Counter = field(default_factory=Counter)
    blank_service: int = 0
    no_agency: int = 0
    points: list[tuple[float, float]] = field(default_factory=list)


def _most_common(counts: Counter) -> str:
    """The most frequent key; ties go to the first in sort order, so a draft does not depend on row order."""
    best = max(counts.values())
    return min(k for k, n in counts.items() if n == best)


def survey(reader: replay_rows.RowReader, path: Path) -> Survey:
    """Read every row of the export through the replay's reader; rows it cannot read are left to `check`."""
    mapping, found = reader.mapping, Survey()
    columns = mapping.columns
    codes: dict[str, tuple[str, str | None]] = {}   # service text → (code, the catalog's service matched)
    agencies: dict[str, str | None] = {}             # agency text → agency code
    for _, row in replay_rows.read_numbered(path):
        try:
            reader.external_id(row)
            created = reader.created(row)
        except replay_rows.Unreadable:
            continue
        text = (row.get(columns.service) or "").strip()
        if not text:
            found.blank_service += 1
            continue
        if text not in codes:
            service = reader.service_of(text)
            codes[text] = ((service.service_code, service.service_code) if service else
                           (mapping.service_code_for(text) or replay_rows.service_slug(text), None))
        code, matched = codes[text]
        seen = found.services.get(code)
        if seen is None:
            seen = found.services[code] = ServiceSeen(code=code, matched=matched)
        seen.rows += 1
        seen.texts[text] += 1
        agency_text = row.get(columns.agency) or ""
        if agency_text not in agencies:
            agencies[agency_text] = reader.agency(row)
        agency = agencies[agency_text]
        if agency:
            seen.agencies[agency] += 1
            found.agency_rows[agency] += 1
            names = found.agency_names.setdefault(agency, Counter())
            name = (row.get(columns.agency_name) or "").strip() if columns.agency_name else ""
            if name:
                names[name] += 1
        else:
            found.no_agency += 1
        if columns.group and (row.get(columns.group) or "").strip():
            seen.groups[row[columns.group].strip()] += 1
        for code_, column in mapping.attributes.items():
            value = (row.get(column) or "").strip()
            if value:
                seen.values.setdefault(code_, Counter())[value] += 1
        location, _ = reader.location(row)
        if location:
            seen.located += 1
            if "lat" in location:
                found.points.append((location["lat"], location["long"]))
        due, _ = reader.due(row)
        if due is not None and due > created:
            seen.offsets.append((created, due))
    return found


# ---- SLA targets ---------------------------------------------------------------------------------------------

@dataclass
class Target:
    """A resolve target drafted from due offsets."""

    iso: str
    clock: str   # calendar, or the business calendar's name
    why: str


def iso_hours(seconds: float) -> str:
    """An exact duration as ISO 8601 hours (and minutes): PT8H, PT172H18M, PT45M."""
    minutes = max(1, round(seconds / 60))
    hours, rest = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{rest}M" if rest else "")


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def whole_days(offsets: list[tuple[datetime, datetime]], zone: ZoneInfo) -> int | None:
    """The median number of local days when enough offsets are whole local days, else None."""
    walls = [(_local(due, zone) - _local(created, zone)).total_seconds() for created, due in offsets]
    whole = [w for w in walls if w > 0 and w % 86_400 == 0]
    if not whole or len(whole) < WHOLE_DAYS_SHARE * len(walls):
        return None
    return int(statistics.median_low(whole) // 86_400)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _on_opening_hours(due: datetime, zone: ZoneInfo, calendar) -> bool:
    if calendar is not None:
        at = _ms(due)
        return calendar.is_open(at) or calendar.is_open(at - 1)
    local = due.astimezone(zone)
    return local.weekday() < 5 and BUSINESS_WINDOW[0] <= local.time().replace(tzinfo=None) <= BUSINESS_WINDOW[1]


def targets(offsets_by_code: dict[str, list], *, zone: ZoneInfo, calendar=None,
            calendar_name: str = BUSINESS) -> tuple[dict[str, Target], dict | None]:
    """A resolve target per service, and the business calendar to add to sla.yaml (None: none needed, or the
    file's own `calendar` was used)."""
    found: dict[str, Target] = {}
    business: list[str] = []
    for code, offsets in offsets_by_code.items():
        days = whole_days(offsets, zone)
        if days:
            found[code] = Target(f"P{days}D", "calendar", f"whole local days ({_dates(offsets)})")
        elif len(offsets) >= BUSINESS_MIN_DUES and all(_on_opening_hours(d, zone, calendar) for _, d in offsets):
            business.append(code)
        else:
            found[code] = _exact(offsets)
    spec = None
    if business and calendar is None:
        hours = f"{BUSINESS_WINDOW[0]:%H:%M}-{BUSINESS_WINDOW[1]:%H:%M}"
        spec = {"hours": {day: hours for day in ("mon", "tue", "wed", "thu", "fri")}}
        calendar = sla_policy.build_calendar(calendar_name, sla_models.CalendarSpec.model_validate(spec),
                                             default_zone=zone.key)
    for code in business:
        counted = [calendar.between(_ms(created), _ms(due)) for created, due in offsets_by_code[code]]
        median = statistics.median_low(counted)
        if median <= 0:
            found[code] = _exact(offsets_by_code[code])
            continue
        found[code] = Target(iso_hours(median / 1000), calendar_name,
                             f"opening hours: every due time on {calendar_name} hours ({_dates(counted)})")
    return found, spec


def _exact(offsets: list[tuple[datetime, datetime]]) -> Target:
    seconds = statistics.median_low((due - created).total_seconds() for created, due in offsets)
    return Target(iso_hours(seconds), "calendar", f"exact hours ({_dates(offsets)})")


def _dates(offsets: list) -> str:
    return f"{len(offsets)} due date" + ("s" if len(offsets) != 1 else "")


def spread(offsets: list[tuple[datetime, datetime]]) -> tuple[float, float, float, float, float]:
    """min, lower quartile, median, upper quartile, max of the offsets in seconds."""
    seconds = sorted((due - created).total_seconds() for created, due in offsets)
    if len(seconds) == 1:
        return (seconds[0],) * 5
    q1, q2, q3 = statistics.quantiles(seconds, n=4, method="inclusive")
    return seconds[0], q1, q2, q3, seconds[-1]


# ---- what the draft adds -------------------------------------------------------------------------------------

@dataclass
class Changes:
    """What a run added (on a first run: everything it wrote) and what it left as it was."""

    services: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)
    values: list[tuple[str, str, int]] = field(default_factory=list)     # (service, attribute, values added)
    policies: list[str] = field(default_factory=list)
    calendars: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not (self.services or self.agencies or self.values or self.policies or self.calendars
                    or self.layers)


@dataclass
class Draft:
    """The outcome of a run."""

    directory: Path
    export: Path
    mapping_path: str
    first: bool
    survey: Survey
    check: replay_check.CheckReport
    targets: dict[str, Target]
    covered: dict[str, str]                 # service code → the existing policy that covers it
    capped: list[tuple[str, str, int]]      # (service, attribute, distinct values seen) beyond MAX_VALUES
    aliases: dict[str, list[str]]           # service code → texts beyond the one it is named after
    layers: list[LayerPlan]
    changes: Changes
    catalog_agency: dict[str, str]          # service code → the agency in the catalog after the run
    zone: ZoneInfo
    name_note: str | None
    jurisdiction: object = None
    seconds: float = 0.0


def _label(column: str) -> str:
    text = column.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def attribute_values(counts: Counter, *, taken_keys: set[str], taken_names: set[str], room: int) -> list[dict]:
    """The most frequent texts not yet among the names, as {key, name}, at most `room` of them; texts that differ
    only in case are one value (named by the most frequent spelling)."""
    by_fold: dict[str, Counter] = {}
    for text, n in counts.items():
        by_fold.setdefault(fold(text), Counter())[text] += n
    ranked = sorted(((sum(c.values()), _most_common(c)) for f, c in by_fold.items() if f not in taken_names),
                    key=lambda pair: (-pair[0], pair[1]))
    out, keys = [], set(taken_keys)
    for _, name in ranked[:max(0, room)]:
        key = base = replay_rows.service_slug(name)
        n = 2
        while key in keys:
            key, n = f"{base}-{n}", n + 1
        keys.add(key)
        out.append({"key": key, "name": name})
    return out


def _distinct(counts: Counter) -> int:
    return len({fold(t) for t in counts})


def new_service(seen: ServiceSeen, *, mapping: Mapping, agency_name: str, capped: list) -> dict:
    """A catalog entry for a service the catalog does not have."""
    entry = {"service_code": seen.code, "service_name": seen.name,
             "description": f"{seen.name}. Handled by {agency_name}."}
    if mapping.columns.group and seen.group:
        entry["group"] = seen.group
    entry["agency"] = seen.agency or UNASSIGNED
    entry["location_required"] = seen.located >= LOCATION_REQUIRED_SHARE * seen.rows
    attributes = []
    for order, (code, column) in enumerate(mapping.attributes.items(), start=1):
        counts = seen.values.get(code)
        if not counts:
            continue
        if _distinct(counts) > MAX_VALUES:
            capped.append((seen.code, code, _distinct(counts)))
        values = attribute_values(counts, taken_keys=set(), taken_names=set(), room=MAX_VALUES)
        attributes.append({"code": code, "datatype": "singlevaluelist", "required": False, "order": order,
                           "description": _label(column), "values": values})
    if attributes:
        entry["attributes"] = attributes
    return entry


def _covering_policy(policies: list[sla_models.Policy], code: str, group: str | None) -> str | None:
    """The first policy that names the service or its group (the draft adds none for such a service)."""
    for policy in policies:
        when = policy.when
        if (when.service_code and code in when.service_code) or (group and when.service_group
                                                                  and group in when.service_group):
            return policy.name
    return None


def _catch_all(policy: sla_models.Policy) -> bool:
    return all(value is None for value in policy.when.model_dump().values())


# ---- YAML files edited in their text -------------------------------------------------------------------------

class _Rewrite(Exception):
    """The edit cannot be made in the text (a flow-style collection, or a shape the editor does not know)."""


@dataclass
class _Node:
    kind: str                # map, seq, scalar, alias
    line: int
    column: int
    flow: bool = False
    items: list = field(default_factory=list)   # seq: nodes; map: (key node, value node)
    value: str | None = None


def _tree(text: str) -> _Node | None:
    events = list(yaml.parse(text, Loader=yaml.SafeLoader))
    position = 0

    def build() -> _Node:
        nonlocal position
        event = events[position]
        position += 1
        mark = event.start_mark
        if isinstance(event, yaml.ScalarEvent):
            return _Node("scalar", mark.line, mark.column, value=event.value)
        if isinstance(event, yaml.AliasEvent):
            return _Node("alias", mark.line, mark.column)
        node = _Node("map" if isinstance(event, yaml.MappingStartEvent) else "seq", mark.line, mark.column,
                     flow=event.flow_style is True)
        end = yaml.MappingEndEvent if node.kind == "map" else yaml.SequenceEndEvent
        while not isinstance(events[position], end):
            node.items.append((build(), build()) if node.kind == "map" else build())
        position += 1
        return node

    while position < len(events) and not isinstance(events[position], yaml.DocumentStartEvent):
        position += 1
    if position >= len(events) - 1:
        return None
    position += 1
    return build() if not isinstance(events[position], yaml.DocumentEndEvent) else None


def _has_flow_mapping(node: _Node | None) -> bool:
    if node is None or node.kind not in ("map", "seq"):
        return False
    if node.kind == "map" and node.flow:
        return True
    children = [n for pair in node.items for n in pair] if node.kind == "map" else node.items
    return any(_has_flow_mapping(child) for child in children)


def _get(node: _Node | None, key) -> _Node | None:
    if node is None:
        return None
    if node.kind == "map" and isinstance(key, str):
        return next((v for k, v in node.items if k.kind == "scalar" and k.value == key), None)
    if node.kind == "seq" and isinstance(key, int) and 0 <= key < len(node.items):
        return node.items[key]
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _dump(data, *, block: bool = False) -> str:
    """YAML in block style, with collections of scalars in flow style ({key: k, name: n}, [a, b]) below the top
    (block: in block style throughout)."""
    scalars = isinstance(data, (dict, list)) and not any(
        isinstance(v, (dict, list)) for v in (data.values() if isinstance(data, dict) else data))
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False if scalars or block else None,
                          allow_unicode=True, width=120)


class YamlText:
    """A YAML file whose data is changed by inserting text, so that its comments and layout stay.

    Every change is made to the data too; `render` checks that the edited text reads back as that data, and
    writes the data anew (without comments, with a note) when it does not or an edit could not be placed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = path.read_text(encoding="utf-8")
        self.data = yaml.safe_load(self.text)
        self.root = _tree(self.text)
        self.lines = self.text.splitlines()
        self._inserts: list[tuple[int, int, list[str]]] = []   # (line, order, lines to insert before it)
        self._rewrite: str | None = None
        self.changed = False

    def node(self, *path) -> _Node | None:
        node = self.root
        for part in path:
            node = _get(node, part)
        return node

    def append(self, path: tuple, items, *, text: str | None = None) -> None:
        """Append items (a list to a sequence, a dict to a mapping) at `path`; `text` is their YAML at column 0
        (default: dumped)."""
        self.changed = True
        target = self.data
        for part in path:
            target = target[part]
        target.extend(items) if isinstance(items, list) else target.update(items)
        if self._rewrite:
            return
        try:
            node = self.node(*path)
            if node is None or node.flow or not node.items or node.kind not in ("map", "seq"):
                raise _Rewrite(f"{'.'.join(map(str, path))} is written in flow style or empty")
            last = node.items[-1][0] if node.kind == "map" else node.items[-1]
            end = self._block_end(last.line, node.column, mapping=node.kind == "map")
            if text is None:  # in the file's style: `- {key: k, name: n}`, or `- key: k` and `  name: n`
                text = _dump(items, block=not _has_flow_mapping(self.root))
            self._insert(end + 1, text, node.column)
        except _Rewrite as reason:
            self._rewrite = str(reason)

    def insert_before(self, path: tuple, index: int, items: list, *, text: str) -> None:
        """Insert items into the sequence at `path` before its item `index`, above the comments over it."""
        self.changed = True
        target = self.data
        for part in path:
            target = target[part]
        target[index:index] = items
        if self._rewrite:
            return
        node = self.node(*path)
        if node is None or node.flow or node.kind != "seq" or index >= len(node.items):
            self._rewrite = f"{'.'.join(map(str, path))} is written in flow style"
            return
        line = node.items[index].line
        while line > 0 and self.lines[line - 1].strip().startswith("#"):
            line -= 1
        self._insert(line, text, node.column)

    def add_key(self, key: str, value, *, before: str | None = None, text: str | None = None) -> None:
        """A new top-level key, before another one (above the comments over it) or at the end."""
        self.changed = True
        if before is not None and before in self.data:
            self.data = _insert_key(self.data, key, value, before)
        else:
            self.data[key] = value
        if self._rewrite:
            return
        if self.root is None or self.root.kind != "map" or self.root.flow:
            self._rewrite = "the file is not a block mapping"
            return
        snippet = text if text is not None else _dump({key: value})
        anchor = next((k for k, _ in self.root.items if k.kind == "scalar" and k.value == before), None)
        if anchor is None:
            self._insert(len(self.lines), snippet, self.root.column)
            return
        line = anchor.line
        while line > 0 and self.lines[line - 1].strip().startswith("#"):
            line -= 1
        self._insert(line, snippet, self.root.column)

    def _block_end(self, start: int, column: int, *, mapping: bool) -> int:
        """The last line holding content of the item that starts at line `start` of a block collection whose
        items sit at `column`."""
        end = start
        for number in range(start + 1, len(self.lines)):
            line = self.lines[number]
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            indent = _indent(line)
            if indent > column or (mapping and indent == column and stripped.startswith("- ")):
                end = number
            else:
                break
        return end

    def _insert(self, line: int, snippet: str, column: int) -> None:
        pad = " " * column
        lines = [pad + text if text.strip() else "" for text in snippet.rstrip("\n").split("\n")]
        self._inserts.append((line, len(self._inserts), lines))

    def render(self) -> tuple[str, str | None]:
        """(the new text, None, or why its comments could not be kept)."""
        if not self.changed:
            return self.text, None
        if not self._rewrite:
            lines = list(self.lines)
            for line, _, new in sorted(self._inserts, key=lambda item: (-item[0], -item[1])):
                lines[line:line] = new
            text = "\n".join(lines) + "\n"
            try:
                if yaml.safe_load(text) == self.data:
                    return text, None
                self._rewrite = "the edited text did not read back as the data"
            except yaml.YAMLError as error:
                self._rewrite = f"the edited text was not valid YAML ({error})"
        header = []
        for line in self.lines:
            if not line.startswith("#"):
                break
            header.append(line)
        text = ("\n".join(header) + "\n" if header else "") + _dump(self.data)
        return text, f"{self.path.name} was written anew from its data, without its comments: {self._rewrite}"


def _insert_key(data: dict, key: str, value, before: str) -> dict:
    out = {}
    for k, v in data.items():
        if k == before:
            out[key] = value
        out[k] = v
    return out


# ---- the files of a first draft ------------------------------------------------------------------------------

def _header(kind: str, *, export: Path, mapping_path: str) -> str:
    return (f"# {kind}\n"
            f"# Drafted by `civicflow jurisdiction draft` from {export.name} read through the mapping {mapping_path};\n"
            "# DRAFT.md beside this file says what the export showed. Edit freely: drafting again into this\n"
            "# directory adds what is new and keeps what is here, comments included.\n")


def _jurisdiction_text(*, mapping: Mapping, name: str, agencies: dict, layers: list[LayerPlan], export: Path,
                       mapping_path: str) -> str:
    head = _header("The jurisdiction: id, name, time zone, agencies and boundary layers.", export=export,
                   mapping_path=mapping_path)
    parts = [head, _dump({"id": mapping.jurisdiction_id, "name": name, "time_zone": mapping.time_zone}),
             "\n# Agency code -> details; each agency gets a work topic work.<id>.<code in lower case>.\n"
             "# Codes are the mapping's agency codes (its agencies table, else the export's text).\n",
             _dump({"agencies": agencies})]
    if layers:
        parts.append(
            "\n# A request's point must lie inside the union of the extent layer's polygons. tolerance_m lets points\n"
            "# that close to the area count as inside (shorelines, piers): raise it when DRAFT.md counts many\n"
            "# points outside every boundary. Each layer adds {layer: the district's id_property} to a request.\n")
        parts.append(_dump({"boundaries": {"extent": layers[0].spec.layer, "tolerance_m": 0, "layers": [
            {"name": p.spec.layer, "file": p.file, "id_property": p.id_property} for p in layers]}}))
    else:
        parts.append("\n# No boundary layers: every point is inside the jurisdiction and has no districts. Add them\n"
                     "# with `civicflow jurisdiction draft ... --boundaries LAYER=FILE[:PROPERTY]` into this\n"
                     "# directory, or by hand: boundaries: {extent: LAYER, layers: [{name, file, id_property}]}\n")
    parts.append("\n# Duplicate detection is off until you set it: an open request of the same service within\n"
                 "# radius_m metres and window_hours hours is then linked as a duplicate.\n"
                 "# duplicates: {radius_m: 30, window_hours: 24}\n")
    return "".join(parts)


def _services_text(services: list[dict], *, export: Path, mapping_path: str) -> str:
    head = _header("The Open311 service catalog.", export=export, mapping_path=mapping_path)
    note = ("# One service per service text of the export (texts differing only in case are one service); the code\n"
            "# is the one a replay gives the text, so replays of the city's exports find these services. agency:\n"
            f"# the agency that handled most rows. location_required: true when at least "
            f"{LOCATION_REQUIRED_SHARE:.0%} of the rows had\n"
            f"# a location. Attributes: the mapping's attribute columns, the {MAX_VALUES} most frequent values seen.\n")
    return head + note + _dump({"services": services})


def _routing_text(*, export: Path, mapping_path: str) -> str:
    return (_header("Routing rules: only the exceptions.", export=export, mapping_path=mapping_path)
            + "# A request no rule matches goes to its service's own agency (services.yaml), then to `default` if\n"
              "# there is one, else to triage. Add a rule to send some requests elsewhere or to a queue, e.g.\n"
              "#   - name: night-noise\n"
              "#     when: {service_code: [noise-residential], priority: [high]}\n"
              "#     agency: POLICE\n"
              "#     queue: nights\n"
              "rules: []\n")


def _priority_text(*, export: Path, mapping_path: str) -> str:
    return (_header("Priority levels and rules.", export=export, mapping_path=mapping_path)
            + "# The first rule whose `when` matches sets the priority, else `default`; `when` takes service_code,\n"
              "# service_group, districts, attributes and keywords, e.g.\n"
              "#   - name: danger-words\n"
              "#     when: {keywords: [fire, gas, injured]}\n"
              "#     priority: urgent\n"
            + _dump({"levels": LEVELS, "default": "normal"}) + "rules: []\n")


def _policy_text(policy: dict, comment: str) -> str:
    return f"# {comment}\n" + _dump([policy])


def _sla_text(policies: list[tuple[dict, str]], calendar: dict | None, *, export: Path, mapping_path: str) -> str:
    parts = [_header("SLA policies: a resolve goal per service, from the export's due dates.", export=export,
                     mapping_path=mapping_path),
             "# The first policy whose `when` matches a request gives its goals. Targets are the median due offset\n"
             "# (due - created) of each service: PnD when the offsets are whole local days, PTnH on the business\n"
             "# calendar when every due time fell within its opening hours (counted in opening hours), else exact\n"
             "# hours. Services without due dates have no policy: add one, or a catch-all at the end.\n"]
    if calendar is not None:
        parts.append("# Opening hours: the window the due times fell in. Set the city's own hours and add its public\n"
                     "# holidays, e.g. holidays: {country: US, subdivision: NY}\n")
        parts.append(_dump({"calendars": {BUSINESS: calendar}}))
    parts.append(_dump({"warnings": [0.5, 0.75], "pause_statuses": ["on_hold"]}))
    parts.append("policies:\n" + "".join(_policy_text(p, c) for p, c in policies))
    return "".join(parts)


# ---- the run -------------------------------------------------------------------------------------------------

def load_mapping(*, path: Path | None, format_name: str | None) -> tuple[Mapping, str]:
    """The mapping and how to name it."""
    try:
        mapping = replay_mapping.load(path=path, format_name=format_name)
    except ReplayError as error:
        raise DraftError(str(error)) from None
    return mapping, str(path) if path is not None else f"deploy/replay/{format_name}.yaml"


def run(*, export: Path, out: Path, mapping_path: Path | None = None, format_name: str | None = None,
        boundaries: list[str] = ()) -> Draft:
    """Draft (or extend) the jurisdiction directory `out` from `export`; raises DraftError."""
    started = timer.perf_counter()
    export, out = Path(export), Path(out)
    if not export.is_file():
        raise DraftError(f"{export}: no such file")
    mapping, mapping_name = load_mapping(path=mapping_path, format_name=format_name)
    if not re.match(_LAYER_NAME, mapping.jurisdiction_id):
        raise DraftError(f"the mapping's jurisdiction_id {mapping.jurisdiction_id!r} cannot name a jurisdiction: "
                         "lower case letters, digits and underscores, starting with a letter")
    try:
        zone = ZoneInfo(mapping.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DraftError(f"the mapping's time_zone {mapping.time_zone!r} is not an IANA time zone") from None
    specs = [parse_boundary(text) for text in boundaries]
    repeated = [name for name, n in Counter(s.layer for s in specs).items() if n > 1]
    if repeated:
        raise DraftError(f"--boundaries: layer {repeated[0]!r} is given twice")
    first = not (out / "jurisdiction.yaml").exists()
    existing = None
    if first:
        lying = [name for name in ("services.yaml", "routing.yaml", "priority.yaml", "sla.yaml")
                 if (out / name).exists()]
        if lying:
            raise DraftError(f"{out} has {', '.join(lying)} but no jurisdiction.yaml: draft into a new or empty "
                             "directory, or into a whole jurisdiction directory")
        if out.exists() and not out.is_dir():
            raise DraftError(f"{out} is not a directory")
    else:
        try:
            existing = jurisdiction_loader.load_jurisdiction(out)
        except JurisdictionConfigError as error:
            raise DraftError(f"{error}\nfix it first (civicflow jurisdiction check {out}): a draft only adds to a "
                             "directory that loads") from None
        if existing.id != mapping.jurisdiction_id:
            raise DraftError(f"{out} is jurisdiction {existing.id!r}, the mapping's jurisdiction_id is "
                             f"{mapping.jurisdiction_id!r}")
    known_layers = {layer.name for layer in existing.geography.layers} if existing else set()
    layer_plans = [_plan_layer(spec) for spec in specs if spec.layer not in known_layers]
    kept_layers = [spec.layer for spec in specs if spec.layer in known_layers]
    for plan in layer_plans:
        target = out / plan.file
        if target.exists() and target.read_bytes() != plan.spec.path.read_bytes():
            raise DraftError(f"{target} exists and differs from {plan.spec.path}: rename one of them")

    zone_note = None
    if existing is not None:
        reader_jurisdiction = existing
        if existing.time_zone != mapping.time_zone:
            zone_note = (f"the mapping reads times in {mapping.time_zone}, the jurisdiction is in "
                         f"{existing.time_zone}: SLA targets are counted in {existing.time_zone}")
        zone = ZoneInfo(existing.time_zone)
    else:
        layers = [plan.layer for plan in layer_plans]
        geography = jurisdiction_geography.Geography(layers=layers, extent=layers[0].name if layers else None)
        reader_jurisdiction = Catalog(services={}, geography=geography, agency_names={})
    reader = replay_rows.RowReader(mapping=mapping, jurisdiction=reader_jurisdiction)
    try:
        seen = survey(reader, export)
        reader_jurisdiction.geography.prime(seen.points)
        report = replay_check.check(reader=reader, path=export)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DraftError(f"{export}: cannot be read ({error})") from None
    if report.required_missing:
        raise DraftError(f"{export}: the mapping's columns {', '.join(report.required_missing)} are not in the "
                         f"export's header ({', '.join(replay_rows.header(export)[:12])}, ...)")
    if not seen.services:
        raise DraftError(f"{export}: no row could be read (first problems: "
                         + "; ".join(f"line {n}: {why}" for n, why in report.unreadable[:3]) + ")")

    name_note = None
    name = mapping.name
    if not name:
        name = mapping.jurisdiction_id
        name_note = f"the mapping has no `name`: the jurisdiction is named {name!r}; edit jurisdiction.yaml"
    draft = Draft(directory=out, export=export, mapping_path=mapping_name, first=first, survey=seen, check=report,
                  targets={}, covered={}, capped=[], aliases={}, layers=layer_plans, changes=Changes(),
                  catalog_agency={}, zone=zone, name_note=name_note)
    for code, service in seen.services.items():
        folded = {fold(t) for t in service.texts}
        if len(folded) > 1:
            draft.aliases[code] = sorted({t for t in service.texts if fold(t) != fold(service.name)})
    draft.changes.kept += [f"layer {name!r} is already in jurisdiction.yaml: kept as it is" for name in kept_layers]
    draft.changes.notes += [zone_note] if zone_note else []
    texts = _first_files(draft, mapping=mapping, name=name) if first else _added_files(draft, existing, mapping)
    draft.jurisdiction = _write(out, texts, layer_plans)
    draft.seconds = timer.perf_counter() - started
    (out / "DRAFT.md").write_text(views.review(draft), encoding="utf-8")
    return draft


def _agency_names(seen: Survey) -> dict[str, str]:
    return {code: (_most_common(names) if names else code) for code, names in seen.agency_names.items()}


def _first_files(draft: Draft, *, mapping: Mapping, name: str) -> dict[str, str]:
    seen, changes = draft.survey, draft.changes
    names = _agency_names(seen)
    services = [new_service(s, mapping=mapping, agency_name=names.get(s.agency, s.agency or UNASSIGNED),
                            capped=draft.capped) for s in sorted(seen.services.values(), key=lambda s: s.code)]
    agencies = {code: {"name": names[code]} for code in sorted(names)}
    if any(s["agency"] == UNASSIGNED for s in services):
        agencies[UNASSIGNED] = {"name": "No agency in the export: assign these services one"}
    changes.services = [s["service_code"] for s in services]
    changes.agencies = sorted(agencies)
    changes.layers = [plan.spec.layer for plan in draft.layers]
    draft.catalog_agency = {s["service_code"]: s["agency"] for s in services}
    args = {"export": draft.export, "mapping_path": draft.mapping_path}
    texts = {"jurisdiction.yaml": _jurisdiction_text(mapping=mapping, name=name, agencies=agencies,
                                                     layers=draft.layers, **args),
             "services.yaml": _services_text(services, **args),
             "routing.yaml": _routing_text(**args), "priority.yaml": _priority_text(**args)}
    offsets = {code: s.offsets for code, s in sorted(seen.services.items()) if s.offsets}
    if offsets:
        draft.targets, calendar = targets(offsets, zone=draft.zone)
        policies = [_policy(code, draft.targets[code], code) for code in offsets]
        texts["sla.yaml"] = _sla_text([(p, _policy_comment(seen.services[p["when"]["service_code"][0]],
                                                           draft.targets[p["when"]["service_code"][0]]))
                                       for p in policies], calendar, **args)
        changes.policies = [p["name"] for p in policies]
        changes.calendars = [BUSINESS] if calendar else []
    return texts


def _policy(name: str, target: Target, code: str) -> dict:
    goal = {"target": target.iso} if target.clock == "calendar" else {"target": target.iso, "clock": target.clock}
    return {"name": name, "when": {"service_code": [code]}, "goals": {"resolve": goal}}


def _policy_comment(seen: ServiceSeen, target: Target) -> str:
    low, _, median, _, high = spread(seen.offsets)
    return (f"{seen.name}: {_dates(seen.offsets)}, {views.duration(low)} to {views.duration(high)}, median "
            f"{views.duration(median)}: {target.why.split(' (')[0]}")


def _added_files(draft: Draft, existing, mapping: Mapping) -> dict[str, str]:
    """The existing files with what is new inserted; the texts of the files that changed."""
    out, seen, changes = draft.directory, draft.survey, draft.changes
    names = _agency_names(seen)
    files = {name: YamlText(out / name) for name in ("jurisdiction.yaml", "services.yaml")}
    # agencies
    new_agencies = {code: {"name": names[code]} for code in sorted(names) if code not in existing.agency_names}
    new_services = [s for code, s in sorted(seen.services.items()) if code not in existing.services]
    if any(s.agency is None for s in new_services) and UNASSIGNED not in existing.agency_names:
        new_agencies[UNASSIGNED] = {"name": "No agency in the export: assign these services one"}
    if new_agencies:
        files["jurisdiction.yaml"].append(("agencies",), new_agencies)
        changes.agencies = list(new_agencies)
    # boundary layers
    if draft.layers:
        entries = [{"name": p.spec.layer, "file": p.file, "id_property": p.id_property} for p in draft.layers]
        if existing.geography.extent is None:
            files["jurisdiction.yaml"].add_key("boundaries", {"extent": entries[0]["name"], "tolerance_m": 0,
                                                              "layers": entries})
        else:
            files["jurisdiction.yaml"].append(("boundaries", "layers"), entries)
        changes.layers = [p.spec.layer for p in draft.layers]
    # services
    services_file = files["services.yaml"]
    entries = [new_service(s, mapping=mapping, agency_name=names.get(s.agency, s.agency or UNASSIGNED),
                           capped=draft.capped) for s in new_services]
    if entries:
        services_file.append(("services",), entries)
        changes.services = [e["service_code"] for e in entries]
    index = {entry["service_code"]: n for n, entry in enumerate(services_file.data["services"])}
    for code, service_seen in sorted(seen.services.items()):
        service = existing.services.get(code)
        if service is None:
            continue
        _add_values(draft, services_file, index[code], service, service_seen, mapping)
        if service_seen.agency and service_seen.agency != service.agency:
            changes.kept.append(f"service {code}: the export's rows went mostly to {service_seen.agency}, the "
                                f"catalog says {service.agency}: kept")
    draft.catalog_agency = {**{c: s.agency for c, s in existing.services.items()},
                            **{e["service_code"]: e["agency"] for e in entries}}
    # SLA
    groups = {**{c: s.group for c, s in existing.services.items()},
              **{e["service_code"]: e.get("group") for e in entries}}
    sla_texts = _added_policies(draft, existing, groups)
    texts = {}
    for name, file in files.items():
        if file.changed:
            texts[name], note = file.render()
            if note:
                changes.notes.append(note)
    texts.update(sla_texts)
    return texts


def _add_values(draft: Draft, services_file: YamlText, index: int, service: Service, seen: ServiceSeen,
                mapping: Mapping) -> None:
    for position, attribute in enumerate(service.attributes):
        counts = seen.values.get(attribute.code)
        if not counts or attribute.datatype not in _LISTS or attribute.code not in mapping.attributes:
            continue
        names = {fold(v.name) for v in attribute.values}
        room = MAX_VALUES - len(attribute.values)
        values = attribute_values(counts, taken_keys={v.key for v in attribute.values}, taken_names=names,
                                  room=room)
        unseen = len({fold(t) for t in counts} - names)
        if unseen > len(values):
            draft.capped.append((service.service_code, attribute.code, len(names) + unseen))
        if values:
            services_file.append(("services", index, "attributes", position, "values"), values)
            draft.changes.values.append((service.service_code, attribute.code, len(values)))


def _added_policies(draft: Draft, existing, groups: dict) -> dict[str, str]:
    seen, changes = draft.survey, draft.changes
    path = draft.directory / "sla.yaml"
    sla = (sla_models.SlaFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
           if path.exists() else None)
    policies = sla.policies if sla else []
    offsets = {}
    for code, service in sorted(seen.services.items()):
        if not service.offsets:
            continue
        covering = _covering_policy(policies, code, groups.get(code))
        if covering:
            draft.covered[code] = covering
        else:
            offsets[code] = service.offsets
    calendar = None
    if sla and BUSINESS in sla.calendars:
        calendar = sla_policy.build_calendar(BUSINESS, sla.calendars[BUSINESS], default_zone=existing.time_zone)
    found, calendar_spec = targets(offsets, zone=draft.zone, calendar=calendar) if offsets else ({}, None)
    draft.targets = found
    if not found:
        return {}
    args = {"export": draft.export, "mapping_path": draft.mapping_path}
    names = {p.name for p in policies}
    new = []
    for code in offsets:
        name, n = code, 2
        while name in names:
            name, n = f"{code}-{n}", n + 1
        names.add(name)
        new.append((_policy(name, found[code], code), _policy_comment(seen.services[code], found[code])))
    changes.policies = [p["name"] for p, _ in new]
    changes.calendars = [BUSINESS] if calendar_spec else []
    if sla is None:
        return {"sla.yaml": _sla_text(new, calendar_spec, **args)}
    file = YamlText(path)
    if calendar_spec:
        if "calendars" in file.data:
            file.append(("calendars",), {BUSINESS: calendar_spec})
        else:
            file.add_key("calendars", {BUSINESS: calendar_spec}, before="policies")
    text = "".join(_policy_text(p, c) for p, c in new)
    catch_all = next((n for n, p in enumerate(policies) if _catch_all(p)), None)
    if catch_all is None:
        file.append(("policies",), [p for p, _ in new], text=text)
    else:
        file.insert_before(("policies",), catch_all, [p for p, _ in new], text=text)
        changes.kept.append(f"sla.yaml: the new policies come before {policies[catch_all].name!r}, the first that "
                            "matches every request")
    rendered, note = file.render()
    if note:
        changes.notes.append(note)
    return {"sla.yaml": rendered}


def _write(out: Path, texts: dict[str, str], layers: list[LayerPlan]):
    """Write the files, then load the directory; on a problem, put back what was there and raise DraftError."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DraftError(f"{out}: cannot be made ({error.strerror})") from None
    before = {name: (out / name).read_text(encoding="utf-8") if (out / name).exists() else None for name in texts}
    copied = []
    try:
        for plan in layers:
            target = out / plan.file
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(plan.spec.path, target)
                copied.append(target)
        for name, text in texts.items():
            (out / name).write_text(text, encoding="utf-8")
        return jurisdiction_loader.load_jurisdiction(out)
    except (JurisdictionConfigError, OSError) as error:
        for name, text in before.items():
            if text is None:
                (out / name).unlink(missing_ok=True)
            else:
                (out / name).write_text(text, encoding="utf-8")
        for target in copied:
            target.unlink(missing_ok=True)
        raise DraftError(f"the draft does not load, so nothing was written:\n{error}") from None
