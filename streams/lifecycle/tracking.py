"""SLA tracking of the requests a worker owns: each request's goals (started, paused, resumed, stopped, fired),
the timer heaps they fall due in, and each partition's watermark. Its methods change a request's goal states
and return the SLA events that happened (warnings, goals met or breached); the processor turns them into
lifecycle events and escalations. No I/O.

Clocks. On processing time (live) timers fire when the wall clock passes them (`due_by`). On event time
(replays) each partition's clock is the watermark of the update times and clock ticks seen on it (`advance`):
before an update is applied, every timer of its partition due before the update's time fires, so a replay
yields the same warnings and breaches whatever its speed. A request whose routed record arrives after its
updates fires its own thresholds between them (`catch_up`).

Besides goal thresholds, the heaps hold two kinds of deadline that are not goals: a closed request is
forgotten once it can no longer be reopened (FORGET, on the mode's clock), and parked updates of a request that
never came expire (EXPIRE, always on processing time, in a heap of their own).
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from civicflow.streams.jurisdiction.conditions import Facts
from civicflow.streams.lifecycle.models import RequestState
from civicflow.streams.lifecycle.timers import Timers
from civicflow.streams.sla import goals as sla_goals
from civicflow.streams.sla import policy as sla_policy

EXPIRE, FORGET = "~expire", "~forget"  # timer tags that are not goals


@dataclass(frozen=True, slots=True)
class SlaEvent:
    """A goal's threshold fired, or the goal was settled."""

    kind: str                # warning, met or breached
    goal: str
    at_ms: int               # the threshold's instant; when it was met; its deadline when breached
    threshold: float | None  # the warning's fraction; 1.0 for a breach; None when met


class Tracker:
    """Goals on the jurisdictions' SLA policies, timers in per-partition heaps, watermarks per partition."""

    def __init__(self, *, jurisdictions: Mapping, event_time: bool, clock: Callable[[], int]) -> None:
        self.jurisdictions = jurisdictions
        self.event_time = event_time
        self.clock = clock
        self.timers = Timers()   # goal thresholds and forgetting closed requests, on the mode's clock
        self.parked = Timers()   # expiry of parked updates, always on processing time
        self.watermarks: dict[int, int] = {}

    # ---- goals ----------------------------------------------------------------------------------------------

    def sla(self, jurisdiction_id: str) -> sla_policy.Sla:
        jurisdiction = self.jurisdictions.get(jurisdiction_id)
        return jurisdiction.sla if jurisdiction is not None else sla_policy.NO_SLA

    def policy(self, record: dict) -> str:
        """The name of the SLA policy a routed record falls under."""
        request, enrichment = record["request"], record["enrichment"]
        facts = Facts(service_code=request["service_code"], service_group=request["service_group"],
                      attributes=request["attributes"], description=request["description"],
                      districts=enrichment["districts"], priority=enrichment["priority"])
        return self.sla(record["jurisdiction_id"]).goals_for(facts)[0]

    def goals(self, state: RequestState) -> dict[str, sla_policy.Goal]:
        """The request's goals by name, its explicit due date applied in its first cycle."""
        goals = {g.name: g for g in self.sla(state.jurisdiction_id).goals_named(state.policy)}
        return sla_policy.with_due_date(goals, due_in_ms=state.due_override if state.cycle == 0 else None)

    def start(self, state: RequestState, *, at_ms: int) -> None:
        """Start the goals of a new cycle (paused at once in a pause status)."""
        goals = self.goals(state)
        state.goals = {name: sla_goals.start(goal, at_ms=at_ms) for name, goal in goals.items()}
        if state.status in self.sla(state.jurisdiction_id).pause_statuses:
            for name, goal in goals.items():
                sla_goals.pause(goal, state.goals[name], at_ms=at_ms)

    def move(self, state: RequestState, *, previous: str, at_ms: int) -> Iterator[SlaEvent]:
        """The request went from `previous` to its status at at_ms: stop, pause or resume its goals. Yields each
        goal settled, as it is settled."""
        goals = self.goals(state)
        pauses = self.sla(state.jurisdiction_id).pause_statuses
        for name, goal_state in state.goals.items():
            goal = goals.get(name)
            if goal is None or goal_state.outcome is not None:
                continue
            if state.status in goal.stops:
                outcome = sla_goals.stop(goal, goal_state, at_ms=at_ms)
                if outcome is not None:
                    yield _settled(name, outcome, goal_state)
            elif state.status in pauses:
                sla_goals.pause(goal, goal_state, at_ms=at_ms)
            elif previous in pauses:
                sla_goals.resume(goal, goal_state, at_ms=at_ms)

    def fire(self, request_id: str, state: RequestState, *, name: str) -> SlaEvent:
        """Fire the goal's due threshold and schedule its next one."""
        goal, goal_state = self.goals(state)[name], state.goals[name]
        at_ms = goal_state.next_due
        fraction = sla_goals.fire(goal, goal_state)
        if goal_state.next_due is not None:
            self.timers.push(partition=state.partition, due=goal_state.next_due, request_id=request_id, tag=name,
                             cycle=state.cycle)
        if fraction < 1.0:
            return SlaEvent("warning", name, at_ms, fraction)
        return _settled(name, sla_goals.BREACHED, goal_state)

    def catch_up(self, request_id: str, state: RequestState, *, until: int) -> Iterator[SlaEvent]:
        """Fire this request's own thresholds due before `until` (event time, while replaying parked updates)."""
        goals = self.goals(state)
        for name, goal_state in state.goals.items():
            while goal_state.outcome is None and goal_state.next_due is not None and goal_state.next_due < until:
                if name not in goals:
                    break
                yield self.fire(request_id, state, name=name)

    @staticmethod
    def current(state: RequestState, *, tag: str, cycle: int, due: int) -> bool:
        """Whether a popped goal timer still stands: not when its goal was stopped, paused or replanned since."""
        goal_state = state.goals.get(tag)
        return (state.cycle == cycle and goal_state is not None and goal_state.next_due == due
                and not goal_state.outcome)

    # ---- timers and clocks ----------------------------------------------------------------------------------

    def schedule(self, request_id: str, state: RequestState) -> None:
        """Push the request's pending deadlines (earlier entries for it go stale, and are skipped when popped)."""
        for name, goal_state in state.goals.items():
            if goal_state.outcome is None and goal_state.next_due is not None:
                self.timers.push(partition=state.partition, due=goal_state.next_due, request_id=request_id,
                                 tag=name, cycle=state.cycle)
        if state.expires_at is not None:
            heap = self.timers if state.known else self.parked
            heap.push(partition=state.partition, due=state.expires_at, request_id=request_id,
                      tag=FORGET if state.known else EXPIRE)

    def advance(self, partition: int, *, until: int) -> Iterator[tuple[int, str, str, int]]:
        """Event time: move the partition's watermark to `until` and pop its timers due before it."""
        if until > self.watermarks.get(partition, -1):
            self.watermarks[partition] = until
        return self.timers.pop_due(partition=partition, until=until, inclusive=False)

    def due_by(self, now: int) -> Iterator[Iterator[tuple[int, str, str, int]]]:
        """The entries due by `now`, one batch per heap and partition: parked updates' expiries, then (on
        processing time) goal thresholds and forgetting."""
        for partition in self.parked.partitions():
            yield self.parked.pop_due(partition=partition, until=now, inclusive=True)
        if not self.event_time:
            for partition in self.timers.partitions():
                yield self.timers.pop_due(partition=partition, until=now, inclusive=True)

    def now(self, partition: int, event_ms: int) -> int:
        """The partition's clock: its watermark on event time, the wall clock on processing time."""
        return self.watermarks.get(partition, event_ms) if self.event_time else self.clock()

    def reset(self) -> None:
        """Forget every timer (before they are rebuilt from the states)."""
        self.timers, self.parked = Timers(), Timers()

    def drop(self, partitions) -> None:
        """Partitions moved to another worker: forget their timers and watermarks."""
        self.timers.drop(partitions)
        self.parked.drop(partitions)
        for partition in partitions:
            self.watermarks.pop(partition, None)


def _settled(name: str, outcome: str, goal_state: sla_goals.GoalState) -> SlaEvent:
    if outcome == sla_goals.MET:
        return SlaEvent("met", name, goal_state.settled_at, None)
    return SlaEvent("breached", name, goal_state.settled_at, 1.0)
