"""The lifecycle of every request of the partitions a worker owns: routed records open it, agency updates move
it, SLA timers warn, breach and escalate. Pure logic: each input returns the records to send (lifecycle
events, escalations, notifications, rejections, state writes for the changelog); the agent sends them.

The processor composes parts that each read alone:
- `state.States`: the request states, their changelog records and the open-request counts;
- `tracking.Tracker`: SLA goals, timer heaps and watermarks, which return the SLA events that happened;
- `notifications`: which citizen notifications a lifecycle event owes;
- `transfers`: a transferred request's work order for its new agency, from its state.
What stays here is applying agency updates (the state machine, the bounds on an update's time, parking) and
turning what happened into records. Routed records do not move an event-time watermark (they come through
intake later than the updates a replay writes directly); a request whose routed record arrives after its
updates has them parked, and applies them in time order, with its own timers in between, when it arrives.
"""

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field

from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.events.models import Emit
from civicflow.streams.events import clock as event_clock
from civicflow.streams.lifecycle import machine, records
from civicflow.streams.lifecycle import notifications as lifecycle_notifications
from civicflow.streams.lifecycle import state as lifecycle_state
from civicflow.streams.lifecycle import tracking
from civicflow.streams.lifecycle import transfers as lifecycle_transfers
from civicflow.streams.lifecycle.models import RECENT_UPDATES, RequestState
from civicflow.streams.sla import policy as sla_policy
from civicflow.streams.validation import bounds as validation_bounds
from civicflow.streams.validation import checks as validation_checks


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class Result:
    """What one input produced: events (with a transferred request's work for its new agency), then state
    writes."""

    events: list[Emit] = field(default_factory=list)
    state: list[Emit] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # what happened, for metrics
    sla: list[tuple[str, str, str, str]] = field(default_factory=list)  # (warning|met|breach, agency, group, goal)
    service_times: list[tuple[str, float, RequestState]] = field(default_factory=list)  # (acknowledge|resolve, s, state)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


@dataclass(frozen=True)
class Options:
    """How the processor keeps time."""

    event_time: bool = False            # False: processing (wall-clock) time
    park_grace_ms: int = 30_000         # how long an update for an unknown request waits for its routed record
    notify: bool = True                 # citizen notifications (replays of history send none)
    closed_retention_ms: int = 30 * 86_400_000  # how long a closed request can still be reopened
    # how far ahead and (live) back an update's time may lie: the settings' (CIVICFLOW_UPDATE_MAX_AGE_H, ...)
    bounds: validation_bounds.Bounds = field(default_factory=validation_bounds.current)


class LifecycleProcessor:
    """Request states in `store` (see `state.States`), SLA goals and timers in a `tracking.Tracker`."""

    def __init__(self, *, jurisdictions: Mapping, codec, topics, store: MutableMapping, changelog_topic: str | None,
                 options: Options = Options(), clock: Callable[[], int] = wall_clock_ms) -> None:
        self.jurisdictions = jurisdictions
        self.codec = codec
        self.topics = topics
        self.options = options
        self.clock = clock
        self.states = lifecycle_state.States(store=store, changelog_topic=changelog_topic)
        self.tracker = tracking.Tracker(jurisdictions=jurisdictions, event_time=options.event_time, clock=clock)

    @property
    def store(self) -> MutableMapping:
        return self.states.store

    @store.setter
    def store(self, store: MutableMapping) -> None:  # the agent hands over the table's data once it exists
        self.states.store = store

    @property
    def owned(self) -> set[int]:
        return self.states.owned

    @property
    def timers(self):
        return self.tracker.timers

    # ---- inputs -------------------------------------------------------------------------------------------

    def on_routed(self, record: dict, *, partition: int, offset: int) -> Result:
        """A routed (or triaged, or duplicate) request: open its lifecycle, then apply updates parked for it."""
        result = Result()
        request_id = record["request_id"]
        state = self.states.get(request_id)
        if state is not None and state.known:
            self._event(result, request_id, state, "opened", state.submitted_at, "opened")  # redelivery
            return result
        pending = state.pending if state is not None else ()
        state = lifecycle_state.opened(record, partition=partition, policy=self.tracker.policy(record))
        self.tracker.start(state, at_ms=state.submitted_at)
        result.count("opened")
        self._event(result, request_id, state, "opened", state.submitted_at, "opened")
        for update in sorted(pending, key=lambda u: u["occurred_at"]):  # stable: same instant, arrival order
            self._sla(result, request_id, state, self.tracker.catch_up(request_id, state, until=update["occurred_at"]))
            self._apply(result, request_id, state, update)
        if self.options.event_time:
            until = self.tracker.watermarks.get(partition, 0)
            self._sla(result, request_id, state, self.tracker.catch_up(request_id, state, until=until))
        self._save(result, request_id, state)
        self.tracker.schedule(request_id, state)
        return result

    def on_update(self, update: dict, *, partition: int) -> Result:
        """An agency update: applied, rejected, or parked until its request's routed record arrives."""
        result = Result()
        if self.options.event_time:
            self._fire(result, self.tracker.advance(partition, until=update["occurred_at"]))
        request_id = update["request_id"]
        state = self.states.get(request_id)
        if state is None or not state.known:
            self._park(result, request_id, state, update, partition=partition)
            return result
        self._apply(result, request_id, state, update)
        self._save(result, request_id, state)
        self.tracker.schedule(request_id, state)
        return result

    def on_watermark(self, *, partition: int, watermark: int) -> Result:
        """Event time: nothing older than the watermark will come on this partition; fire what is due."""
        result = Result()
        self._fire(result, self.tracker.advance(partition, until=watermark))
        return result

    def on_tick(self) -> Result:
        """Every timer due by now in every owned partition (on event time: only parked updates expire)."""
        result = Result()
        for due in self.tracker.due_by(self.clock()):
            self._fire(result, due)
        return result

    # ---- ownership ----------------------------------------------------------------------------------------

    def rebuild(self, partitions: set[int]) -> int:
        """Re-index the timers of these partitions from the store (after recovery); forget other partitions'
        states. Returns the number of timers."""
        for _ in self.rebuilding(partitions):
            pass
        return len(self.tracker.timers)

    def rebuilding(self, partitions: set[int]) -> Iterator[int]:
        """`rebuild` a step at a time: on local databases it yields each partition once its timers are back, so
        the agent can fire those while the next partitions are read (a dict store is one step)."""
        self.tracker.reset()
        yield from self.states.rebuilding(partitions, schedule=self.tracker.schedule)

    def revoke(self, partitions) -> None:
        """Partitions moved to another worker: stop firing their timers."""
        self.tracker.drop(partitions)
        self.states.revoke(partitions)

    def open_by_state(self) -> dict[tuple[str, str], int]:
        """{(agency, SLA state): open requests} of the owned partitions: on_track, warned, breached or paused.
        Kept up to date on every save (no scan of the store)."""
        return self.states.open_by_state()

    # ---- updates ------------------------------------------------------------------------------------------

    def _apply(self, result: Result, request_id: str, state: RequestState, update: dict) -> None:
        for update_id, previous, *_ in state.recent:
            if update_id == update["update_id"]:  # a retry: answer as the first time, change nothing
                self._transition_event(result, request_id, state, update, previous)
                return
        jurisdiction = self.jurisdictions.get(state.jurisdiction_id)
        refusal = machine.check(status=state.status, owner=state.agency, update=update,
                                agencies=jurisdiction.agency_names if jurisdiction else {}) or self._time_refusal(
                                    state, update)
        if refusal is not None:
            self._reject(result, update, refusal)
            return
        previous, at_ms = state.status, update["occurred_at"]
        state.status = machine.next_status(update["status"])
        # (update id, status before, when it happened): retries are recognised, and no later update predates it
        state.recent = (state.recent + ((update["update_id"], previous, at_ms),))[-RECENT_UPDATES:]
        if update["status"] == "transferred":
            state.agency = sys.intern(update["to_agency"])
        if update["status"] == "reopened":
            state.cycle += 1
            state.closed_at = state.expires_at = None
            self.tracker.start(state, at_ms=at_ms)
        else:
            self._sla(result, request_id, state, self.tracker.move(state, previous=previous, at_ms=at_ms))
        _service_times(result, state, previous=previous, at_ms=at_ms)
        if state.status == "closed":
            state.closed_at = at_ms
            state.expires_at = self.tracker.now(state.partition, at_ms) + self.options.closed_retention_ms
        result.count("transition")
        self._transition_event(result, request_id, state, update, previous)
        if update["status"] == "transferred":
            self._transfer(result, request_id, state, update)

    def _transfer(self, result: Result, request_id: str, state: RequestState, update: dict) -> None:
        """The request's routed record as new work on the work topic of the agency that takes it over."""
        topic = self.topics.work(jurisdiction_id=state.jurisdiction_id, agency=state.agency)
        jurisdiction = self.jurisdictions.get(state.jurisdiction_id)
        service = jurisdiction.services.get(state.service_code) if jurisdiction is not None else None
        if not state.work:
            result.count("transferred_without_details")  # a state kept before the details were
        record = lifecycle_transfers.work_order(request_id=request_id, state=state, update_id=update["update_id"],
                                                topic=topic, now=event_clock.from_ms(self.clock()),
                                                service_name=service.service_name if service is not None else None)
        result.events.append(Emit(topic, request_id.encode(), self.codec.encode(contract_schemas.ROUTED, record)))

    def _time_refusal(self, state: RequestState, update: dict) -> machine.Refusal | None:
        """Live updates may not rewrite history: not before the submission or the last accepted update, not older
        than the bounds allow, not ahead of the clock. Replays (event time) import recorded history and are
        exempt: their watermark is not a wall clock."""
        if self.options.event_time:
            return None
        times = [entry[2] for entry in state.recent if len(entry) > 2]
        reasons = validation_checks.update_time(
            occurred_at=event_clock.from_ms(update["occurred_at"]),
            submitted_at=event_clock.from_ms(state.submitted_at),
            last_update_at=event_clock.from_ms(max(times)) if times else None,
            now=event_clock.from_ms(self.clock()),
            bounds=self.options.bounds)
        return machine.Refusal(reasons[0].code, reasons[0].message, reasons[0].field) if reasons else None

    def _park(self, result: Result, request_id: str, state, update: dict, *, partition: int) -> None:
        """Hold an update whose request is not known yet; it is rejected if the request never comes."""
        if state is None:
            state = RequestState(partition=partition, jurisdiction_id=update["jurisdiction_id"],
                                 expires_at=self.clock() + self.options.park_grace_ms)
        if all(u["update_id"] != update["update_id"] for u in state.pending):
            state.pending = state.pending + (update,)
        result.count("parked")
        self._save(result, request_id, state)
        self.tracker.schedule(request_id, state)

    def _reject(self, result: Result, update: dict, refusal) -> None:
        result.count(f"rejected:{refusal.code}")
        record = records.update_rejected(update=update, refusal=refusal, now=event_clock.from_ms(self.clock()))
        result.events.append(Emit(self.topics.rejected, update["request_id"].encode(),
                                  self.codec.encode(contract_schemas.REJECTED, record)))

    def _expire(self, result: Result, request_id: str, state: RequestState) -> None:
        for update in state.pending:
            refusal = machine.Refusal("unknown_request", f"no routed request {request_id} arrived within "
                                      f"{self.options.park_grace_ms // 1000} s of the update", "request_id")
            self._reject(result, update, refusal)
        self._delete(result, request_id, state.partition)

    # ---- timers -------------------------------------------------------------------------------------------

    def _fire(self, result: Result, due_entries) -> None:
        touched: dict[str, RequestState] = {}
        for due, request_id, tag, cycle in due_entries:
            state = touched.get(request_id) or self.states.get(request_id)
            if state is None:
                continue
            if tag == tracking.EXPIRE:
                if not state.known and state.expires_at == due:
                    self._expire(result, request_id, state)
                continue
            if tag == tracking.FORGET:
                if state.expires_at == due and state.status == "closed":
                    self._delete(result, request_id, state.partition)
                    touched.pop(request_id, None)
                continue
            if not self.tracker.current(state, tag=tag, cycle=cycle, due=due):
                continue  # stale: the goal was stopped, paused or replanned since
            self._sla(result, request_id, state, (self.tracker.fire(request_id, state, name=tag),))
            touched[request_id] = state
        for request_id, state in touched.items():
            self._save(result, request_id, state)

    # ---- output -------------------------------------------------------------------------------------------

    def _save(self, result: Result, request_id: str, state: RequestState) -> None:
        emit = self.states.save(request_id, state)
        if emit is not None:
            result.state.append(emit)

    def _delete(self, result: Result, request_id: str, partition: int) -> None:
        emit = self.states.delete(request_id, partition)
        if emit is not None:
            result.state.append(emit)

    def _sla(self, result: Result, request_id: str, state: RequestState,
             events: Iterable[tracking.SlaEvent]) -> None:
        """Each SLA event as it happens: its lifecycle event, and an escalation to the agency for a breach."""
        for event in events:
            labels = (state.agency or "triage", state.service_group or "", event.goal)
            base = f"sla/{event.goal}/{state.cycle}"
            if event.kind == "warning":
                result.count("sla_warning")
                result.sla.append(("warning", *labels))
                self._event(result, request_id, state, "sla_warning", event.at_ms,
                            f"{base}/warning/{event.threshold}", goal=event.goal, threshold=event.threshold)
            elif event.kind == "met":
                result.sla.append(("met", *labels))
                result.count("sla_met")
                self._event(result, request_id, state, "sla_met", event.at_ms, f"{base}/met", goal=event.goal,
                            threshold=None)
            else:
                result.sla.append(("breach", *labels))
                result.count("sla_breached")
                self._event(result, request_id, state, "sla_breached", event.at_ms, f"{base}/breached",
                            goal=event.goal, threshold=1.0)
                escalation = self._event(result, request_id, state, "escalation", event.at_ms,
                                         f"{base}/escalation", goal=event.goal, threshold=1.0)
                if state.agency:
                    topic = self.topics.escalations(jurisdiction_id=state.jurisdiction_id, agency=state.agency)
                    result.events.append(Emit(topic, request_id.encode(), escalation))

    def _event(self, result: Result, request_id: str, state: RequestState, kind: str, at_ms: int, name: str,
               **extra) -> bytes:
        record = records.lifecycle(request_id=request_id, state=state, kind=kind, occurred_ms=at_ms,
                                   event_name=name, **extra)
        value = self.codec.encode(contract_schemas.LIFECYCLE, record)
        result.events.append(Emit(self.topics.lifecycle, request_id.encode(), value))
        if self.options.notify and state.contact:
            self._notify(result, request_id, state, kind, at_ms, name, extra)
        return value

    def _notify(self, result: Result, request_id: str, state: RequestState, kind: str, at_ms: int, name: str,
                extra: dict) -> None:
        update = extra.get("update") or {}
        resolve_goal = self.tracker.goals(state).get(sla_policy.RESOLVE) if kind == "sla_breached" else None
        owed = lifecycle_notifications.owed(state, kind, update_status=update.get("status"),
                                            goal=extra.get("goal"), resolve_goal=resolve_goal)
        jurisdiction = self.jurisdictions.get(state.jurisdiction_id)
        spec = jurisdiction.notifications if jurisdiction is not None else None
        for kind_owed, expected_ms in owed:
            record = lifecycle_notifications.notification(
                request_id=request_id, state=state, kind=kind_owed, at_ms=at_ms, event_name=name,
                expected_ms=expected_ms, note=update.get("note"), spec=spec)
            if record is not None:
                result.count("notification")
                result.events.append(Emit(self.topics.notifications, request_id.encode(),
                                          self.codec.encode(contract_schemas.NOTIFICATION, record)))

    def _transition_event(self, result: Result, request_id: str, state: RequestState, update: dict, previous):
        self._event(result, request_id, state, "transition", update["occurred_at"],
                    f"update/{update['update_id']}", previous_status=previous,
                    update={**update, "occurred_at": event_clock.from_ms(update["occurred_at"])})


def _service_times(result: Result, state: RequestState, *, previous: str, at_ms: int) -> None:
    """Time to the first response and to resolution, from submission (first cycle only)."""
    if state.cycle != 0:
        return
    seconds = max(0, at_ms - state.submitted_at) / 1000
    if previous in ("open", "triage") and state.status not in ("open", "triage"):
        result.service_times.append(("acknowledge", seconds, state))
    if state.status in ("resolved", "closed") and previous not in ("resolved", "closed"):
        result.service_times.append(("resolve", seconds, state))
