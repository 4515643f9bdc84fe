"""The running state of one goal and its arithmetic: start, pause, resume, fire thresholds, stop.

A goal counts time on its clock from its start; pauses stop the count. Its thresholds (warnings, then 1.0
for the deadline) fall due when that fraction of the target has been counted. Instants are UTC milliseconds.

Nominal days (P7D on the calendar clock) are resolved once, when the goal starts counting: `Goal.length_from`
turns the target into counted milliseconds from that instant (7 local days: 167 hours across a spring-forward),
and the goal keeps the difference from 24-hour days as `drift`. From then on the target is that many
milliseconds: warnings are fractions of it, the goal is met while no more than it has been counted, and a
pause moves the deadline by exactly the paused time (1 h later wall time when the pause itself spans a DST
change). A goal that starts paused has counted nothing, so it resolves its days again when it first counts.
"""

from civicflow.streams.sla.policy import Goal

MET, BREACHED = "met", "breached"


class GoalState:
    """Where one goal stands in the current cycle."""

    __slots__ = ("segment_start", "consumed", "fired", "outcome", "settled_at", "deadline", "next_due", "drift")

    def __init__(self, *, segment_start: int | None, consumed: int = 0, fired: int = 0, outcome: str | None = None,
                 settled_at: int | None = None, deadline: int | None = None, next_due: int | None = None,
                 drift: int = 0) -> None:
        self.segment_start = segment_start  # when counting (re)started; None while paused
        self.consumed = consumed            # counted ms before segment_start
        self.fired = fired                  # thresholds already fired
        self.outcome = outcome              # None while running, then met or breached
        self.settled_at = settled_at        # when it was met, or its deadline when breached
        self.deadline = deadline            # instant of 100 % while running (kept once breached)
        self.next_due = next_due            # instant of the next threshold to fire, None if none
        self.drift = drift or 0             # ms this cycle's local days add to the target (-1 h over spring)

    def as_list(self) -> list:
        """Seven values, and the drift as an eighth only when it is not 0: most goals store what they stored
        before nominal days, lists stored before load with drift 0 (the exact target they were planned with),
        and a reader that knows seven names ignores the eighth."""
        values = [self.segment_start, self.consumed, self.fired, self.outcome, self.settled_at, self.deadline,
                  self.next_due]
        return values + [self.drift] if self.drift else values

    @classmethod
    def from_list(cls, values: list) -> "GoalState":
        names = cls.__slots__
        return cls(**dict(zip(names, values)))

    @property
    def running(self) -> bool:
        return self.outcome is None and self.segment_start is not None


def start(goal: Goal, *, at_ms: int) -> GoalState:
    """A goal that starts counting at at_ms: its deadline is goal.deadline_from(at_ms)."""
    state = GoalState(segment_start=at_ms, drift=goal.drift_from(at_ms))
    _plan(goal, state)
    return state


def length(goal: Goal, state: GoalState) -> int:
    """The target in counted milliseconds for this cycle (its nominal days resolved where it started)."""
    return goal.target_ms + state.drift


def counted(goal: Goal, state: GoalState, *, at_ms: int) -> int:
    """Milliseconds counted toward the target by at_ms."""
    if state.segment_start is None:
        return state.consumed
    return state.consumed + goal.clock.between(state.segment_start, at_ms)


def pause(goal: Goal, state: GoalState, *, at_ms: int) -> None:
    """Stop counting (a pause status began)."""
    if not state.running:
        return
    state.consumed = counted(goal, state, at_ms=at_ms)
    state.segment_start = None
    state.deadline = state.next_due = None


def resume(goal: Goal, state: GoalState, *, at_ms: int) -> None:
    """Count again from at_ms (the pause status ended)."""
    if state.outcome is not None or state.segment_start is not None:
        return
    state.segment_start = at_ms
    if not state.consumed:  # it started paused: its days count from now
        state.drift = goal.drift_from(at_ms)
    _plan(goal, state)


def fire(goal: Goal, state: GoalState) -> float | None:
    """Fire the threshold that is due; returns its fraction (1.0: the goal is breached), or None when nothing
    is due (the goal is settled or paused) and nothing changes."""
    if not state.running or state.next_due is None:
        return None
    fraction = goal.thresholds[state.fired]
    at = state.next_due
    state.fired += 1
    if fraction >= 1.0:
        state.outcome, state.settled_at, state.next_due = BREACHED, at, None
    else:
        _plan(goal, state)
    return fraction


def stop(goal: Goal, state: GoalState, *, at_ms: int) -> str | None:
    """A stop status was reached at at_ms: the goal is met unless the deadline had passed (then it is
    breached now, if no timer declared it yet). Returns the new outcome, or None when it was settled before."""
    if state.outcome is not None:
        return None
    if counted(goal, state, at_ms=at_ms) <= length(goal, state):
        state.outcome, state.settled_at = MET, at_ms
    else:
        state.outcome, state.settled_at = BREACHED, state.deadline if state.deadline is not None else at_ms
        state.fired = len(goal.thresholds)
    state.next_due = None
    return state.outcome


def _plan(goal: Goal, state: GoalState) -> None:
    """Deadline and next threshold instant, from the running segment: what remains of the target after the
    time counted before it (nothing before the first segment, so then the deadline is
    goal.deadline_from(segment_start))."""
    target = length(goal, state)
    state.deadline = goal.clock.add(state.segment_start, target - state.consumed)
    if state.fired >= len(goal.thresholds):
        state.next_due = None
        return
    need = goal.thresholds[state.fired] * target - state.consumed
    state.next_due = goal.clock.add(state.segment_start, max(0, int(need)))
