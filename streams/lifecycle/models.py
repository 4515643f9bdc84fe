"""What the lifecycle agent remembers about a request: owner, status, SLA cycle and goals, recent updates.

Kept in the lifecycle table's in-memory store as RequestState objects; the changelog holds them as JSON lists
(`as_list`; `codec.StateCodec` turns them back while Faust recovers the table). A worker may hold a million
open requests, so repeated strings are interned, districts shared, and empty collections are one shared tuple.
"""

import sys

from civicflow.streams.sla.goals import GoalState

RECENT_UPDATES = 16  # update ids remembered per request, to recognise a retried update
_INTERNED = ("jurisdiction_id", "service_code", "service_group", "channel", "priority", "agency", "status", "policy")


class RequestState:
    """One request after routing (or an unknown one whose early updates are parked)."""

    __slots__ = ("partition", "jurisdiction_id", "external_id", "service_code", "service_group", "channel",
                 "priority", "districts", "agency", "status", "cycle", "submitted_at", "policy", "due_override",
                 "goals", "recent", "pending", "routed_at", "closed_at", "expires_at", "contact", "language",
                 "tally")
    PERSISTED = __slots__[:-1]  # tally is the worker's own bookkeeping: (agency, SLA state) it is counted under

    def __init__(self, **values) -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name))
        for name in _INTERNED:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, sys.intern(value))
        self.goals = self.goals or {}
        self.recent = tuple(tuple(r) for r in self.recent) if self.recent else ()
        self.pending = tuple(self.pending) if self.pending else ()
        self.routed_at = tuple(self.routed_at) if self.routed_at else None
        self.contact = tuple(self.contact) if self.contact else None  # (email, phone, first_name, device_id)
        self.districts = interned_districts(self.districts)

    @property
    def known(self) -> bool:
        """False while only parked updates are known (the routed record has not arrived)."""
        return self.status is not None

    def as_list(self) -> list:
        values = [getattr(self, name) for name in self.PERSISTED]
        values[self.PERSISTED.index("goals")] = {name: goal.as_list() for name, goal in self.goals.items()}
        values[self.PERSISTED.index("districts")] = dict(self.districts)
        return values

    @classmethod
    def from_list(cls, values: list) -> "RequestState":
        state = cls(**dict(zip(cls.PERSISTED, values)))
        state.goals = {sys.intern(name): GoalState.from_list(goal) for name, goal in state.goals.items()}
        return state


class StoredState:
    """What rebuilding a request's timers and counts reads of its stored list (RequestState.as_list), without
    building the state: a worker rebuilds half a million of them from its local databases at every start."""

    __slots__ = ("partition", "agency", "status", "cycle", "goals", "expires_at", "tally")
    _AT = tuple(RequestState.PERSISTED.index(name) for name in __slots__[:-1])

    def __init__(self, values: list) -> None:
        (self.partition, self.agency, self.status, self.cycle, goals, self.expires_at) = (values[i] for i in self._AT)
        self.goals = {sys.intern(name): StoredGoal(goal) for name, goal in goals.items()} if goals else {}
        self.tally = None

    @property
    def known(self) -> bool:
        return self.status is not None


class StoredGoal:
    """The parts of a stored GoalState list that timers and SLA states are read from."""

    __slots__ = ("fired", "outcome", "next_due")

    def __init__(self, values: list) -> None:
        self.fired, self.outcome, self.next_due = values[2], values[3], values[6]


_DISTRICTS: dict[tuple, dict] = {}


def interned_districts(districts: dict | None) -> dict:
    """One shared dict per distinct district combination (never mutate it): a million requests share a few
    hundred."""
    key = tuple(sorted((districts or {}).items()))
    return _DISTRICTS.setdefault(key, dict(key))
