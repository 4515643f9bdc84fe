"""What the lifecycle agent remembers about a request: owner, status, SLA cycle and goals, recent updates, and
what a transfer's work order needs (`work`: lifecycle.transfers).

Kept in the lifecycle table's in-memory store as RequestState objects; the changelog holds them as JSON lists
(`as_list`; `codec.StateCodec` turns them back while Faust recovers the table). A worker may hold a million
open requests, so repeated strings are interned, districts shared, empty collections are one shared tuple, and
the work-order details stay one bytes object (their JSON) until a transfer reads them.
"""

import sys

import orjson

from civicflow.streams.sla.goals import GoalState

RECENT_UPDATES = 16  # update ids remembered per request, to recognise a retried update
_INTERNED = ("jurisdiction_id", "service_code", "service_group", "channel", "priority", "agency", "status", "policy")


class RequestState:
    """One request after routing (or an unknown one whose early updates are parked)."""

    __slots__ = ("partition", "jurisdiction_id", "external_id", "service_code", "service_group", "channel",
                 "priority", "districts", "agency", "status", "cycle", "submitted_at", "policy", "due_override",
                 "goals", "recent", "pending", "closed_at", "expires_at", "contact", "language", "work", "tally")
    # The stored list's positions. None marks a position earlier versions wrote and this one does not use (the
    # routed record's (partition, offset), read back for transfers before `work` was kept): written as null,
    # ignored when read, so lists of either version read the same. New fields go at the end. tally is the
    # worker's own bookkeeping, never stored: the (partition, agency, SLA state) the request is counted under.
    LAYOUT = ("partition", "jurisdiction_id", "external_id", "service_code", "service_group", "channel",
              "priority", "districts", "agency", "status", "cycle", "submitted_at", "policy", "due_override",
              "goals", "recent", "pending", None, "closed_at", "expires_at", "contact", "language", "work")

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
        if isinstance(self.work, list):  # as stored: the routed record's work-order details (transfers.details)
            self.work = json_bytes(self.work)
        self.contact = tuple(self.contact) if self.contact else None  # (email, phone, first_name, device_id)
        self.districts = interned_districts(self.districts)

    @property
    def known(self) -> bool:
        """False while only parked updates are known (the routed record has not arrived)."""
        return self.status is not None

    def as_list(self, *, work_as_json: bool = False) -> list:
        """The stored list. `work_as_json`: the work-order details as their kept JSON (an orjson Fragment, for
        orjson.dumps), not parsed again: every state write of a request carries them, a transfer reads them."""
        values = [getattr(self, name) if name else None for name in self.LAYOUT]
        values[self.LAYOUT.index("goals")] = {name: goal.as_list() for name, goal in self.goals.items()}
        values[self.LAYOUT.index("districts")] = dict(self.districts)
        if self.work:
            values[self.LAYOUT.index("work")] = orjson.Fragment(self.work) if work_as_json else orjson.loads(self.work)
        return values

    @classmethod
    def from_list(cls, values: list) -> "RequestState":
        """A state from its stored list, of this version or an earlier one (shorter, with other values at the
        unused positions)."""
        state = cls(**{name: value for name, value in zip(cls.LAYOUT, values) if name})
        state.goals = {sys.intern(name): GoalState.from_list(goal) for name, goal in state.goals.items()}
        return state


class StoredState:
    """What rebuilding a request's timers and counts reads of its stored list (RequestState.as_list), without
    building the state: a worker rebuilds half a million of them from its local databases at every start."""

    __slots__ = ("partition", "agency", "status", "cycle", "goals", "expires_at", "tally")
    _AT = tuple(RequestState.LAYOUT.index(name) for name in __slots__[:-1])

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


def json_bytes(value) -> bytes:
    """`value` as JSON bytes to keep: orjson's own bytes object holds on to the buffer it was written in (about
    4 KiB each, 393 MiB for 100,000 of them where a copy takes 29), so a copy of the exact size is kept."""
    return bytes(memoryview(orjson.dumps(value)))


_DISTRICTS: dict[tuple, dict] = {}


def interned_districts(districts: dict | None) -> dict:
    """One shared dict per distinct district combination (never mutate it): a million requests share a few
    hundred."""
    key = tuple(sorted((districts or {}).items()))
    return _DISTRICTS.setdefault(key, dict(key))
