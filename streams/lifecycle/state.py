"""The request states of the partitions a worker owns: read from the store, saved with the changelog record
that persists them, deleted, counted by (agency, SLA state) as they move, and re-indexed after a rebalance.

The store is the lifecycle table's in-memory data (RequestState objects, or JSON lists as recovered from the
changelog) or its local databases (`store.LocalStates`, which give a state's changelog bytes). No I/O: the
changelog records are returned for the agent to send.
"""

import sys
from collections.abc import Callable, Iterator, MutableMapping

import orjson

from civicflow.streams.events.models import Emit
from civicflow.streams.lifecycle import codec as lifecycle_codec
from civicflow.streams.lifecycle import transfers as lifecycle_transfers
from civicflow.streams.lifecycle.models import RequestState, interned_districts
from civicflow.streams.sla import goals as sla_goals


class States:
    """request id → RequestState on top of `store`, with the open-request counts of the owned partitions."""

    def __init__(self, *, store: MutableMapping, changelog_topic: str | None) -> None:
        self.store = store
        self.changelog_topic = changelog_topic
        self.owned: set[int] = set()  # partitions this worker owns (after the last rebuild)
        self.open_counts: dict[tuple[int, str, str], int] = {}  # (partition, agency, SLA state) → open requests

    def get(self, request_id: str, value=None) -> RequestState | None:
        """The request's state (from `value` when given, as read from the store), or None."""
        value = self.store.get(request_id) if value is None else value
        if isinstance(value, list):  # as recovered from the changelog
            value = RequestState.from_list(value)
            self.store[request_id] = value
        elif isinstance(value, bytes):  # from the local databases: decoded each time, counted as it was saved
            value = lifecycle_codec.loads(value)
            value.tally = self._tally_key(value)
        return value

    def save(self, request_id: str, state: RequestState) -> Emit | None:
        """Keep the state and count it where it stands now; returns its changelog record."""
        self.store[request_id] = state
        self._tally(state)
        if not self.changelog_topic:
            return None
        return Emit(self.changelog_topic, orjson.dumps(request_id), lifecycle_codec.dumps(state), state.partition)

    def delete(self, request_id: str, partition: int) -> Emit | None:
        """Forget the request; returns its changelog tombstone."""
        state = self.get(request_id)
        self.store.pop(request_id, None)
        if isinstance(state, RequestState) and state.tally is not None:
            self.open_counts[state.tally] -= 1
        return Emit(self.changelog_topic, orjson.dumps(request_id), None, partition) if self.changelog_topic else None

    # ---- ownership ----------------------------------------------------------------------------------------

    def rebuilding(self, partitions: set[int], *, schedule: Callable[[str, object], None]) -> Iterator[int]:
        """Own these partitions: count their states again and hand each to `schedule`; forget other partitions'
        states (a dict store). Yields each partition once its states are done (a dict store: all at the end)."""
        self.owned, self.open_counts = set(partitions), {}
        if isinstance(self.store, dict):
            stale = []
            for request_id, value in list(self.store.items()):
                state = self.get(request_id, value)
                if state.partition in partitions:
                    self._reindex(request_id, state, schedule=schedule)
                else:
                    stale.append(request_id)
            for request_id in stale:
                self.store.pop(request_id, None)
            yield from sorted(partitions)
            return
        for partition in sorted(partitions):
            for request_id, value in self.store.items(partitions=(partition,)):
                # only what timers and counts need is read of a stored state
                state = lifecycle_codec.stored(value) if isinstance(value, bytes) else value
                self._reindex(request_id, state, schedule=schedule)
            yield partition

    def _reindex(self, request_id: str, state, *, schedule: Callable[[str, object], None]) -> None:
        state.tally = None
        self._tally(state)
        schedule(request_id, state)

    def revoke(self, partitions) -> None:
        """Partitions moved to another worker: stop counting their requests."""
        self.owned -= set(partitions)
        self.open_counts = {key: count for key, count in self.open_counts.items() if key[0] not in partitions}
        if isinstance(self.store, dict):  # states kept as objects carry what they are counted under
            for value in self.store.values():
                if isinstance(value, RequestState) and value.partition in partitions:
                    value.tally = None

    # ---- open requests ------------------------------------------------------------------------------------

    def open_by_state(self) -> dict[tuple[str, str], int]:
        """{(agency, SLA state): open requests} of the owned partitions (kept up to date on every save)."""
        counts: dict[tuple[str, str], int] = {}
        for (_, agency, state), count in self.open_counts.items():
            if count:
                counts[(agency, state)] = counts.get((agency, state), 0) + count
        return {key: count for key, count in counts.items() if count}

    def _tally(self, state) -> None:
        """Move the request to the (partition, agency, SLA state) it is counted under now."""
        key = self._tally_key(state)
        if key != state.tally:
            if state.tally is not None:
                self.open_counts[state.tally] -= 1
            if key is not None:
                self.open_counts[key] = self.open_counts.get(key, 0) + 1
            state.tally = key

    def _tally_key(self, state) -> tuple[int, str, str] | None:
        if state.known and state.status not in ("resolved", "closed") and state.partition in self.owned:
            return state.partition, state.agency or "triage", sla_state(state)
        return None


def sla_state(state) -> str:
    """Where an open request stands against its goals: paused, breached, warned or on_track."""
    if state.status == "on_hold":
        return "paused"
    goals = state.goals.values()
    if any(g.outcome == sla_goals.BREACHED for g in goals):
        return "breached"
    if any(g.fired and g.outcome is None for g in goals):
        return "warned"
    return "on_track"


def opened(record: dict, *, partition: int, policy: str) -> RequestState:
    """The state of a request as its routed (triaged, duplicate) record opens it, under SLA `policy`, with what a
    transfer's work order needs of the record."""
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
        policy=policy, contact=_contact(record["contact"]), language=request["language"],
        work=lifecycle_transfers.details(record))


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def _contact(contact: dict | None) -> tuple | None:
    """The citizen's ways to be reached, or None when the request came without any."""
    if not contact:
        return None
    values = (contact["email"], contact["phone"], contact["first_name"], contact["device_id"])
    return values if any(v for i, v in enumerate(values) if i != 2) else None


def _intern(text: str | None) -> str | None:
    return sys.intern(text) if text is not None else None
