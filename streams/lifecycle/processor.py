"""The lifecycle of every request of the partitions a worker owns: routed records open it, agency updates move
it, SLA timers warn, breach and escalate. Pure logic: each input returns the records to send (lifecycle
events, escalations, rejections, state writes for the changelog); the agent sends them.

Clocks. On processing time (live) timers fire when the wall clock passes them (`on_tick`). On event time
(replays) each partition's clock is the watermark of the update times and clock ticks seen on it: before an
update is applied, every timer of its partition due before the update's time fires, so a replay yields the
same warnings and breaches whatever its speed. Routed records do not move the watermark (they come through
intake later than the updates a replay writes directly); a request whose routed record arrives after its
updates has them parked, and applies them in time order, with its own timers in between, when it arrives.
"""

import orjson
import sys
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field

from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.jurisdiction.conditions import Facts
from civicflow.streams.lifecycle import codec as lifecycle_codec
from civicflow.streams.lifecycle import machine, records
from civicflow.streams.lifecycle.models import RECENT_UPDATES, RequestState, interned_districts
from civicflow.streams.lifecycle.timers import Timers
from civicflow.streams.notifications import models as notifications_models
from civicflow.streams.notifications import templates as notifications_templates
from civicflow.streams.events import ids
from civicflow.streams.events.models import Emit
from civicflow.streams.sla import goals as sla_goals
from civicflow.streams.sla import policy as sla_policy
from civicflow.streams.validation import bounds as validation_bounds
from civicflow.streams.validation import checks as validation_checks

EXPIRE, FORGET = "~expire", "~forget"  # timer tags that are not goals


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class Transfer:
    """A request handed to another agency: the agent re-reads its routed record and sends it as new work."""

    request_id: str
    jurisdiction_id: str
    to_agency: str
    routed_at: tuple[int, int]  # (partition, offset) of the request's routed record
    update_id: str


@dataclass(slots=True)
class Result:
    """What one input produced: events first, then state writes; transfers for the agent to complete."""

    events: list[Emit] = field(default_factory=list)
    state: list[Emit] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
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
    """Request states in `store` (the lifecycle table's in-memory data, or its local databases through
    `store.LocalStates`, which give a state's changelog bytes), timers in per-partition heaps."""

    def __init__(self, *, jurisdictions: Mapping, codec, topics, store: MutableMapping, changelog_topic: str | None,
                 options: Options = Options(), clock: Callable[[], int] = wall_clock_ms) -> None:
        self.jurisdictions = jurisdictions
        self.codec = codec
        self.topics = topics
        self.store = store
        self.changelog_topic = changelog_topic
        self.options = options
        self.clock = clock
        self.owned: set[int] = set()  # partitions this worker owns (after the last rebuild)
        self.open_counts: dict[tuple[int, str, str], int] = {}  # (partition, agency, SLA state) → open requests
        self.timers = Timers()   # goal thresholds and forgetting closed requests, on the mode's clock
        self.parked = Timers()   # expiry of parked updates, always on processing time
        self.watermarks: dict[int, int] = {}

    # ---- inputs -------------------------------------------------------------------------------------------

    def on_routed(self, record: dict, *, partition: int, offset: int) -> Result:
        """A routed (or triaged, or duplicate) request: open its lifecycle, then apply updates parked for it."""
        result = Result()
        request_id = record["request_id"]
        state = self._state(request_id)
        if state is not None and state.known:
            self._event(result, request_id, state, "opened", state.submitted_at, "opened")  # redelivery
            return result
        pending = state.pending if state is not None else ()
        state = self._opened_state(record, partition=partition, offset=offset)
        self._start_goals(state, at_ms=state.submitted_at)
        result.count("opened")
        self._event(result, request_id, state, "opened", state.submitted_at, "opened")
        for update in sorted(pending, key=lambda u: u["occurred_at"]):  # stable: same instant, arrival order
            self._catch_up(result, request_id, state, until=update["occurred_at"])
            self._apply(result, request_id, state, update)
        if self.options.event_time:
            self._catch_up(result, request_id, state, until=self.watermarks.get(partition, 0))
        self._save(result, request_id, state)
        self._schedule(request_id, state)
        return result

    def on_update(self, update: dict, *, partition: int) -> Result:
        """An agency update: applied, rejected, or parked until its request's routed record arrives."""
        result = Result()
        if self.options.event_time:
            self._advance(result, partition, until=update["occurred_at"], inclusive=False)
        request_id = update["request_id"]
        state = self._state(request_id)
        if state is None or not state.known:
            self._park(result, request_id, state, update, partition=partition)
            return result
        self._apply(result, request_id, state, update)
        self._save(result, request_id, state)
        self._schedule(request_id, state)
        return result

    def on_watermark(self, *, partition: int, watermark: int) -> Result:
        """Event time: nothing older than the watermark will come on this partition; fire what is due."""
        result = Result()
        self._advance(result, partition, until=watermark, inclusive=False)
        return result

    def on_tick(self) -> Result:
        """Every timer due by now in every owned partition (on event time: only parked updates expire)."""
        result = Result()
        now = self.clock()
        for partition in self.parked.partitions():
            self._fire(result, self.parked.pop_due(partition=partition, until=now, inclusive=True))
        if not self.options.event_time:
            for partition in self.timers.partitions():
                self._fire(result, self.timers.pop_due(partition=partition, until=now, inclusive=True))
        return result

    # ---- ownership ----------------------------------------------------------------------------------------

    def rebuild(self, partitions: set[int]) -> int:
        """Re-index the timers of these partitions from the store (after recovery); forget other partitions'
        states. Returns the number of timers."""
        for _ in self.rebuilding(partitions):
            pass
        return len(self.timers)

    def rebuilding(self, partitions: set[int]) -> Iterator[int]:
        """`rebuild` a step at a time: on local databases it yields each partition once its timers are back, so
        the agent can fire those while the next partitions are read (a dict store is one step)."""
        self.timers, self.parked = Timers(), Timers()
        self.owned, self.open_counts = set(partitions), {}
        if isinstance(self.store, dict):
            stale = []
            for request_id, value in list(self.store.items()):
                state = self._state(request_id, value)
                if state.partition in partitions:
                    self._reindex(request_id, state)
                else:
                    stale.append(request_id)
            for request_id in stale:
                self.store.pop(request_id, None)
            yield from sorted(partitions)
            return
        for partition in sorted(partitions):
            for request_id, value in self.store.items(partitions=(partition,)):
                # only what timers and counts need is read of a stored state
                self._reindex(request_id, lifecycle_codec.stored(value) if isinstance(value, bytes) else value)
            yield partition

    def _reindex(self, request_id: str, state) -> None:
        state.tally = None
        self._tally(state)
        self._schedule(request_id, state)

    def revoke(self, partitions) -> None:
        """Partitions moved to another worker: stop firing their timers."""
        self.timers.drop(partitions)
        self.parked.drop(partitions)
        self.owned -= set(partitions)
        self.open_counts = {key: count for key, count in self.open_counts.items() if key[0] not in partitions}
        if isinstance(self.store, dict):  # states kept as objects carry what they are counted under
            for value in self.store.values():
                if isinstance(value, RequestState) and value.partition in partitions:
                    value.tally = None
        for partition in partitions:
            self.watermarks.pop(partition, None)

    def open_by_state(self) -> dict[tuple[str, str], int]:
        """{(agency, SLA state): open requests} of the owned partitions: on_track, warned, breached or paused.
        Kept up to date on every save (no scan of the store)."""
        counts: dict[tuple[str, str], int] = {}
        for (_, agency, sla_state), count in self.open_counts.items():
            if count:
                counts[(agency, sla_state)] = counts.get((agency, sla_state), 0) + count
        return {key: count for key, count in counts.items() if count}

    def _tally(self, state: RequestState) -> None:
        """Move the request to the (partition, agency, SLA state) it is counted under now."""
        key = self._tally_key(state)
        if key != state.tally:
            if state.tally is not None:
                self.open_counts[state.tally] -= 1
            if key is not None:
                self.open_counts[key] = self.open_counts.get(key, 0) + 1
            state.tally = key

    def _tally_key(self, state: RequestState) -> tuple[int, str, str] | None:
        if state.known and state.status not in ("resolved", "closed") and state.partition in self.owned:
            return state.partition, state.agency or "triage", _sla_state(state)
        return None

    # ---- state --------------------------------------------------------------------------------------------

    def _state(self, request_id: str, value=None) -> RequestState | None:
        value = self.store.get(request_id) if value is None else value
        if isinstance(value, list):  # as recovered from the changelog
            value = RequestState.from_list(value)
            self.store[request_id] = value
        elif isinstance(value, bytes):  # from the local databases: decoded each time, counted as it was saved
            value = lifecycle_codec.loads(value)
            value.tally = self._tally_key(value)
        return value

    def _save(self, result: Result, request_id: str, state: RequestState) -> None:
        self.store[request_id] = state
        self._tally(state)
        if self.changelog_topic:
            result.state.append(Emit(self.changelog_topic, orjson.dumps(request_id),
                                     lifecycle_codec.dumps(state), state.partition))

    def _delete(self, result: Result, request_id: str, partition: int) -> None:
        state = self._state(request_id)
        self.store.pop(request_id, None)
        if isinstance(state, RequestState) and state.tally is not None:
            self.open_counts[state.tally] -= 1
        if self.changelog_topic:
            result.state.append(Emit(self.changelog_topic, orjson.dumps(request_id), None, partition))

    def _opened_state(self, record: dict, *, partition: int, offset: int) -> RequestState:
        request, enrichment, routing = record["request"], record["enrichment"], record["routing"]
        # A duplicate creates no new work but is still the citizen's request: it stays open with the agency of
        # its original, under the same goals, until the agency closes it.
        status = "triage" if routing["outcome"] == "triage" else "open"
        submitted = _ms(request["submitted_at"])
        return RequestState(
            partition=partition, jurisdiction_id=sys.intern(record["jurisdiction_id"]),
            external_id=request["external_id"], service_code=sys.intern(request["service_code"]),
            service_group=_intern(request["service_group"]), channel=sys.intern(request["channel"]),
            priority=sys.intern(enrichment["priority"]), districts=interned_districts(enrichment["districts"]),
            agency=_intern(routing["agency"]), status=status, cycle=0, submitted_at=submitted,
            due_override=_ms(request["due_at"]) - submitted if request["due_at"] else None,
            policy=self._policy(record), routed_at=(partition, offset), contact=_contact(record["contact"]),
            language=request["language"])

    def _policy(self, record: dict) -> str:
        request, enrichment = record["request"], record["enrichment"]
        facts = Facts(service_code=request["service_code"], service_group=request["service_group"],
                      attributes=request["attributes"], description=request["description"],
                      districts=enrichment["districts"], priority=enrichment["priority"])
        return self._sla(record["jurisdiction_id"]).goals_for(facts)[0]

    def _sla(self, jurisdiction_id: str) -> sla_policy.Sla:
        jurisdiction = self.jurisdictions.get(jurisdiction_id)
        return jurisdiction.sla if jurisdiction is not None else sla_policy.NO_SLA

    def _goals(self, state: RequestState) -> dict[str, sla_policy.Goal]:
        goals = {g.name: g for g in self._sla(state.jurisdiction_id).goals_named(state.policy)}
        return sla_policy.with_due_date(goals, due_in_ms=state.due_override if state.cycle == 0 else None)

    def _start_goals(self, state: RequestState, *, at_ms: int) -> None:
        goals = self._goals(state)
        state.goals = {name: sla_goals.start(goal, at_ms=at_ms) for name, goal in goals.items()}
        if state.status in self._sla(state.jurisdiction_id).pause_statuses:
            for name, goal in goals.items():
                sla_goals.pause(goal, state.goals[name], at_ms=at_ms)

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
            result.transfers.append(Transfer(request_id, state.jurisdiction_id, state.agency, state.routed_at,
                                             update["update_id"]))
        if update["status"] == "reopened":
            state.cycle += 1
            state.closed_at = state.expires_at = None
            self._start_goals(state, at_ms=at_ms)
        else:
            self._move_goals(result, request_id, state, previous=previous, at_ms=at_ms)
        self._service_times(result, state, previous=previous, at_ms=at_ms)
        if state.status == "closed":
            state.closed_at = at_ms
            state.expires_at = self._now(state.partition, at_ms) + self.options.closed_retention_ms
        result.count("transition")
        self._transition_event(result, request_id, state, update, previous)

    def _time_refusal(self, state: RequestState, update: dict) -> machine.Refusal | None:
        """Live updates may not rewrite history: not before the submission or the last accepted update, not older
        than the bounds allow, not ahead of the clock. Replays (event time) import recorded history and are
        exempt: their watermark is not a wall clock."""
        if self.options.event_time:
            return None
        times = [entry[2] for entry in state.recent if len(entry) > 2]
        reasons = validation_checks.update_time(
            occurred_at=records.at(update["occurred_at"]), submitted_at=records.at(state.submitted_at),
            last_update_at=records.at(max(times)) if times else None, now=records.at(self.clock()),
            bounds=self.options.bounds)
        return machine.Refusal(reasons[0].code, reasons[0].message, reasons[0].field) if reasons else None

    @staticmethod
    def _service_times(result: Result, state: RequestState, *, previous: str, at_ms: int) -> None:
        """Time to the first response and to resolution, from submission (first cycle only)."""
        if state.cycle != 0:
            return
        seconds = max(0, at_ms - state.submitted_at) / 1000
        if previous in ("open", "triage") and state.status not in ("open", "triage"):
            result.service_times.append(("acknowledge", seconds, state))
        if state.status in ("resolved", "closed") and previous not in ("resolved", "closed"):
            result.service_times.append(("resolve", seconds, state))

    def _move_goals(self, result: Result, request_id: str, state: RequestState, *, previous: str, at_ms: int):
        goals = self._goals(state)
        pauses = self._sla(state.jurisdiction_id).pause_statuses
        for name, goal_state in state.goals.items():
            goal = goals.get(name)
            if goal is None or goal_state.outcome is not None:
                continue
            if state.status in goal.stops:
                outcome = sla_goals.stop(goal, goal_state, at_ms=at_ms)
                self._settled(result, request_id, state, name, outcome, goal_state)
            elif state.status in pauses:
                sla_goals.pause(goal, goal_state, at_ms=at_ms)
            elif previous in pauses:
                sla_goals.resume(goal, goal_state, at_ms=at_ms)

    def _park(self, result: Result, request_id: str, state, update: dict, *, partition: int) -> None:
        """Hold an update whose request is not known yet; it is rejected if the request never comes."""
        if state is None:
            state = RequestState(partition=partition, jurisdiction_id=update["jurisdiction_id"],
                                 expires_at=self.clock() + self.options.park_grace_ms)
        if all(u["update_id"] != update["update_id"] for u in state.pending):
            state.pending = state.pending + (update,)
        result.count("parked")
        self._save(result, request_id, state)
        self._schedule(request_id, state)

    def _reject(self, result: Result, update: dict, refusal) -> None:
        result.count(f"rejected:{refusal.code}")
        record = records.update_rejected(update=update, refusal=refusal, now=records.at(self.clock()))
        result.events.append(Emit(self.topics.rejected, update["request_id"].encode(),
                                  self.codec.encode(contract_schemas.REJECTED, record)))

    # ---- timers -------------------------------------------------------------------------------------------

    def _advance(self, result: Result, partition: int, *, until: int, inclusive: bool) -> None:
        if until > self.watermarks.get(partition, -1):
            self.watermarks[partition] = until
        self._fire(result, self.timers.pop_due(partition=partition, until=until, inclusive=inclusive))

    def _fire(self, result: Result, due_entries) -> None:
        touched: dict[str, RequestState] = {}
        for due, request_id, tag, cycle in due_entries:
            state = touched.get(request_id) or self._state(request_id)
            if state is None:
                continue
            if tag == EXPIRE:
                if not state.known and state.expires_at == due:
                    self._expire(result, request_id, state)
                continue
            if tag == FORGET:
                if state.expires_at == due and state.status == "closed":
                    self._delete(result, request_id, state.partition)
                    touched.pop(request_id, None)
                continue
            goal_state = state.goals.get(tag)
            if state.cycle != cycle or goal_state is None or goal_state.next_due != due or goal_state.outcome:
                continue  # stale: the goal was stopped, paused or replanned since
            self._fire_goal(result, request_id, state, tag)
            touched[request_id] = state
        for request_id, state in touched.items():
            self._save(result, request_id, state)

    def _fire_goal(self, result: Result, request_id: str, state: RequestState, name: str) -> None:
        goal, goal_state = self._goals(state)[name], state.goals[name]
        at_ms = goal_state.next_due
        fraction = sla_goals.fire(goal, goal_state)
        if goal_state.next_due is not None:
            self.timers.push(partition=state.partition, due=goal_state.next_due, request_id=request_id, tag=name,
                             cycle=state.cycle)
        if fraction < 1.0:
            result.count("sla_warning")
            result.sla.append(("warning", state.agency or "triage", state.service_group or "", name))
            self._event(result, request_id, state, "sla_warning", at_ms,
                        f"sla/{name}/{state.cycle}/warning/{fraction}", goal=name, threshold=fraction)
        else:
            self._settled(result, request_id, state, name, sla_goals.BREACHED, goal_state)

    def _catch_up(self, result: Result, request_id: str, state: RequestState, *, until: int) -> None:
        """Fire this request's own thresholds due before `until` (event time, while replaying parked updates)."""
        goals = self._goals(state)
        for name, goal_state in state.goals.items():
            while goal_state.outcome is None and goal_state.next_due is not None and goal_state.next_due < until:
                if name not in goals:
                    break
                self._fire_goal(result, request_id, state, name)

    def _settled(self, result: Result, request_id: str, state: RequestState, name: str, outcome, goal_state):
        if outcome is not None:
            result.sla.append(("met" if outcome == sla_goals.MET else "breach", state.agency or "triage",
                               state.service_group or "", name))
        if outcome == sla_goals.MET:
            result.count("sla_met")
            self._event(result, request_id, state, "sla_met", goal_state.settled_at,
                        f"sla/{name}/{state.cycle}/met", goal=name, threshold=None)
        elif outcome == sla_goals.BREACHED:
            result.count("sla_breached")
            base = f"sla/{name}/{state.cycle}"
            self._event(result, request_id, state, "sla_breached", goal_state.settled_at, f"{base}/breached",
                        goal=name, threshold=1.0)
            escalation = self._event(result, request_id, state, "escalation", goal_state.settled_at,
                                     f"{base}/escalation", goal=name, threshold=1.0)
            if state.agency:
                topic = self.topics.escalations(jurisdiction_id=state.jurisdiction_id, agency=state.agency)
                result.events.append(Emit(topic, request_id.encode(), escalation))

    def _schedule(self, request_id: str, state: RequestState) -> None:
        for name, goal_state in state.goals.items():
            if goal_state.outcome is None and goal_state.next_due is not None:
                self.timers.push(partition=state.partition, due=goal_state.next_due, request_id=request_id,
                                 tag=name, cycle=state.cycle)
        if state.expires_at is not None:
            heap = self.timers if state.known else self.parked
            heap.push(partition=state.partition, due=state.expires_at, request_id=request_id,
                      tag=FORGET if state.known else EXPIRE)

    def _expire(self, result: Result, request_id: str, state: RequestState) -> None:
        for update in state.pending:
            refusal = machine.Refusal("unknown_request", f"no routed request {request_id} arrived within "
                                      f"{self.options.park_grace_ms // 1000} s of the update", "request_id")
            self._reject(result, update, refusal)
        self._delete(result, request_id, state.partition)

    def _now(self, partition: int, event_ms: int) -> int:
        return self.watermarks.get(partition, event_ms) if self.options.event_time else self.clock()

    # ---- output -------------------------------------------------------------------------------------------

    def _event(self, result: Result, request_id: str, state: RequestState, kind: str, at_ms: int, name: str,
               **extra) -> bytes:
        record = records.lifecycle(request_id=request_id, state=state, kind=kind, occurred_ms=at_ms,
                                   event_name=name, **extra)
        value = self.codec.encode(contract_schemas.LIFECYCLE, record)
        result.events.append(Emit(self.topics.lifecycle, request_id.encode(), value))
        if self.options.notify and state.contact:
            note = (extra.get("update") or {}).get("note")
            for kind_owed, expected_ms in self._owed(state, kind, extra):
                self._notify(result, request_id, state, kind_owed, at_ms, name, expected_ms, note)
        return value

    def _owed(self, state: RequestState, kind: str, extra: dict) -> list[tuple[str, int | None]]:
        """The notifications a lifecycle event owes the citizen, with the expected time each states."""
        resolve = state.goals.get(sla_policy.RESOLVE)
        expected = resolve.deadline if resolve is not None and resolve.running else None
        if kind == "opened":
            return [("received", expected)] + ([("routed", expected)] if state.agency else [])
        if kind == "transition":
            if extra["update"]["status"] == "transferred":
                return [("routed", expected)]
            return [(state.status, expected)] if state.status in notifications_models.KINDS else []
        if kind == "sla_breached" and extra.get("goal") == sla_policy.RESOLVE and resolve is not None:
            goal = self._goals(state).get(sla_policy.RESOLVE)
            later = goal.clock.add(resolve.settled_at, goal.target_ms // 2) if goal else None
            return [("breach_apology", later)]
        return []

    def _notify(self, result: Result, request_id: str, state: RequestState, kind: str, at_ms: int, name: str,
                expected_ms: int | None, note: str | None) -> None:
        jurisdiction = self.jurisdictions.get(state.jurisdiction_id)
        spec = jurisdiction.notifications if jurisdiction is not None else None
        channel, address = _reach(state.contact)
        if spec is None or channel is None:
            return
        record = {"event_id": ids.uuid5(f"{request_id}/notification/{name}/{kind}"), "request_id": request_id,
                  "jurisdiction_id": state.jurisdiction_id, "kind": kind,
                  "language": notifications_templates.language_for(spec=spec, wanted=state.language),
                  "channel": channel, "address": address, "first_name": state.contact[2],
                  "occurred_at": records.at(at_ms), "service_code": state.service_code, "agency": state.agency,
                  "status_notes": note, "expected_at": records.at(expected_ms) if expected_ms else None,
                  "external_id": state.external_id}
        result.count("notification")
        result.events.append(Emit(self.topics.notifications, request_id.encode(),
                                  self.codec.encode(contract_schemas.NOTIFICATION, record)))

    def _transition_event(self, result: Result, request_id: str, state: RequestState, update: dict, previous):
        self._event(result, request_id, state, "transition", update["occurred_at"],
                    f"update/{update['update_id']}", previous_status=previous,
                    update={**update, "occurred_at": records.at(update["occurred_at"])})




def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def _sla_state(state: RequestState) -> str:
    if state.status == "on_hold":
        return "paused"
    goals = state.goals.values()
    if any(g.outcome == sla_goals.BREACHED for g in goals):
        return "breached"
    if any(g.fired and g.outcome is None for g in goals):
        return "warned"
    return "on_track"


def _contact(contact: dict | None) -> tuple | None:
    """The citizen's ways to be reached, or None when the request came without any."""
    if not contact:
        return None
    values = (contact["email"], contact["phone"], contact["first_name"], contact["device_id"])
    return values if any(v for i, v in enumerate(values) if i != 2) else None


def _reach(contact: tuple | None) -> tuple[str | None, str | None]:
    """(channel, address): email first, then a phone by SMS, then the device by push."""
    if not contact:
        return None, None
    email, phone, _, device = contact
    for channel, address in (("email", email), ("sms", phone), ("push", device)):
        if address:
            return channel, address
    return None, None


def _intern(text: str | None) -> str | None:
    return sys.intern(text) if text is not None else None
