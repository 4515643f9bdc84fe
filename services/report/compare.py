"""What-if comparison of two runs (`civicflow report --compare RUN_A RUN_B`): the resolve goal's on-time rate and
breaches per agency and per district of every boundary layer, side by side, with the difference B − A.

Pure functions on two reports of one jurisdiction and period. A group that one run does not have counts as zero
requests there. A group with some but fewer settled resolve goals than the minimum count in either run is
`few_settled`: it is listed after the ranked groups, unranked and not highlighted. Ranked groups come largest
drop of the on-time rate first; groups without a rate in one of the runs (no change to rank) come last.
"""

from dataclasses import dataclass

from civicflow.services.report.figures import AGENCY, CITY, Names, Report, Row


@dataclass(frozen=True)
class Side:
    """One group's resolve figures in one run."""

    requests: int = 0
    met: int = 0
    breached: int = 0

    @property
    def settled(self) -> int:
        return self.met + self.breached

    @property
    def on_time_rate(self) -> float | None:
        return self.met / self.settled if self.settled else None

    @classmethod
    def of(cls, row: Row | None) -> "Side":
        return cls() if row is None else cls(requests=row.requests, met=row.met, breached=row.breached)


@dataclass(frozen=True)
class Line:
    """One group in both runs."""

    breakdown: str
    key: str
    name: str
    a: Side
    b: Side
    few_settled: bool = False

    @property
    def on_time_change(self) -> float | None:
        """B's on-time rate minus A's (a fraction: 0.05 is 5 percentage points); None without both rates."""
        if self.a.on_time_rate is None or self.b.on_time_rate is None:
            return None
        return self.b.on_time_rate - self.a.on_time_rate

    @property
    def breached_change(self) -> int:
        return self.b.breached - self.a.breached


@dataclass(frozen=True)
class Run:
    """One side of the comparison: how its read model is named, and its report's period."""

    label: str
    period_label: str


@dataclass(frozen=True)
class Comparison:
    names: Names
    a: Run
    b: Run
    city: Line
    sections: dict[str, list[Line]]     # agency, then each boundary layer → lines in report order
    min_count: int

    def lines(self) -> list[Line]:
        return [self.city, *(line for lines in self.sections.values() for line in lines)]


def compare(a: Report, b: Report, *, a_label: str, b_label: str) -> Comparison:
    """The comparison of two reports of one jurisdiction, made with the same minimum count."""
    min_count = a.min_count
    layers = a.layers + [layer for layer in b.layers if layer not in a.layers]
    sections: dict[str, list[Line]] = {}
    for breakdown in (AGENCY, *layers):
        rows_a = {row.key: row for row in a.sections.get(breakdown, [])}
        rows_b = {row.key: row for row in b.sections.get(breakdown, [])}
        keys = list(rows_a) + [key for key in rows_b if key not in rows_a]
        lines = [_line(breakdown, key, rows_a.get(key), rows_b.get(key), min_count) for key in keys]
        sections[breakdown] = sorted(lines, key=largest_drop_first)
    city = _line(CITY, a.city.key, a.city, b.city, min_count)
    return Comparison(names=a.names, a=Run(a_label, a.period_label), b=Run(b_label, b.period_label), city=city,
                      sections=sections, min_count=min_count)


def largest_drop_first(line: Line) -> tuple:
    """Sort key: groups with enough settled goals in both runs by the change of their on-time rate, largest drop
    first; then the groups below the minimum count; then those without a change (no rate in one run);
    unranked ones by requests in both runs, then key."""
    requests = -(line.a.requests + line.b.requests)
    if line.on_time_change is None:
        return (2, 0.0, 0, requests, line.key)
    if line.few_settled:
        return (1, 0.0, 0, requests, line.key)
    return (0, line.on_time_change, -line.breached_change, requests, line.key)


def _line(breakdown: str, key: str, row_a: Row | None, row_b: Row | None, min_count: int) -> Line:
    a, b = Side.of(row_a), Side.of(row_b)
    name = (row_a or row_b).name
    return Line(breakdown=breakdown, key=key, name=name, a=a, b=b,
                few_settled=0 < a.settled < min_count or 0 < b.settled < min_count)
