"""How far a replay agrees with the city's own on-time record, row by row.

The city's record of a row with a due date: closed after its due date ⇒ breached; never closed and due before the
export's last timestamp ⇒ breached; otherwise met (closed) or open. The replay's side is the resolve goal's
outcome of the row's request. Rows without a due date have no record to agree with and are not counted.
"""

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Agreement:
    """Rows with a due date, how many agree, and the disagreements by (city's outcome, replay's outcome)."""

    rows: int = 0
    agreeing: int = 0
    disagreements: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # external ids of a few disagreeing rows

    @property
    def share(self) -> float | None:
        return self.agreeing / self.rows if self.rows else None


def city_outcome(*, closed, due, end) -> str:
    """The city's record of one row with a due date."""
    if closed is not None:
        return "breached" if closed > due else "met"
    return "breached" if due < end else "open"


def measure(*, reader, rows, outcomes) -> Agreement:
    """Agreement of `outcomes` (request id → RequestOutcome) with the rows' own record."""
    parsed, end = [], None
    for _, row in rows:
        try:
            created = reader.created(row)
        except ValueError:
            continue
        closed, _ = reader.closed(row, created=created)
        due, _ = reader.due(row)
        end = max(t for t in (end, created, closed) if t is not None)
        if due is not None:
            parsed.append((row, closed, due))
    found = Agreement()
    for row, closed, due in parsed:
        expected = city_outcome(closed=closed, due=due, end=end)
        outcome = outcomes.get(reader.request_id(row))
        goal = outcome.goals.get("resolve") if outcome is not None else None
        got = goal["outcome"] if goal is not None else (outcome.status if outcome is not None else "missing")
        found.rows += 1
        if got == expected:
            found.agreeing += 1
        else:
            found.disagreements[(expected, got)] += 1
            if len(found.examples) < 10:
                found.examples.append(reader.external_id(row))
    return found
