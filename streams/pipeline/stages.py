"""The intake pipeline's batch wrapper around the decision (streams/pipeline/decision.py): decode, decide, encode.

A batch goes through three calls, each taking what the one before returned: `decode` (Avro bytes → submission
dicts, and the batch's points looked up together), `decide` (the decision per input, timed per stage, with the
intake index's changes bound for its changelog), `encode` (the decisions' records → the bytes to send).
Only `decode` and `encode` reach the schema registry; when it cannot be reached they raise RegistryError and
can be called again with the same arguments (`encode` carries on where it stopped). `run` chains the three.

Fusing the stages keeps one topic hop between intake and the agency (each hop costs a full Faust pass). Time is
epoch milliseconds, as in the decision; the stage timings are `time.perf_counter` seconds (for histograms only).
"""

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

import orjson
import structlog

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.events import clock as event_clock
from civicflow.streams.events import dead_letters
from civicflow.streams.events.models import Emit
from civicflow.streams.observability import logs
from civicflow.streams.pipeline import decision as pipeline_decision
from civicflow.streams.pipeline import index as pipeline_index
from civicflow.streams.pipeline.models import Decision, Input, Outcome

log = structlog.get_logger(__name__)

Decoded = dict | contract_exceptions.DecodeError  # an input's submission, or why it could not be decoded


class _Stopwatch:
    """Charges the time since the last mark to a stage, into `timings`."""

    __slots__ = ("timings", "_last")

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings, self._last = timings, time.perf_counter()

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self._last
        self._last = now

    def last_stage(self) -> None:
        """The rest of an input's time: routing once it was enriched, else validation."""
        self.mark("route" if "enrich" in self.timings else "validate")


class Pipeline:
    """Turns a batch of raw intake records into their outcomes and the records to send."""

    def __init__(self, *, jurisdictions: Mapping, codec: contract_codec.Codec, topics: contract_topics.Topics,
                 index: pipeline_index.IntakeIndex, changelog_topic: str | None = None,
                 clock: Callable[[], int] = event_clock.wall_clock_ms) -> None:
        self.jurisdictions = jurisdictions
        self.codec = codec
        self.topics = topics
        self.index = index
        self.changelog_topic = changelog_topic
        self.clock = clock  # epoch milliseconds

    def run(self, inputs: Sequence[Input]) -> list[Outcome]:
        """decode → decide → encode, without retrying (RegistryError propagates)."""
        outcomes = self.decide(inputs, self.decode(inputs))
        self.encode(inputs, outcomes)
        return outcomes

    # ---- decode -----------------------------------------------------------------------------------------

    def decode(self, inputs: Sequence[Input]) -> list[Decoded]:
        """Each input's submission (or its DecodeError), with the batch's points looked up (`prefetch`)."""
        decoded = [self._decode(item.value) for item in inputs]
        self.prefetch(decoded)
        return decoded

    def prefetch(self, submissions: Sequence[Decoded]) -> None:
        """Look up the districts of the submissions' points in one go per jurisdiction (a submission decided
        later finds its districts ready); a failed lookup is left for the submission's own to meet and report."""
        points = defaultdict(list)
        for submission in submissions:
            if isinstance(submission, dict) and submission["lat"] is not None and submission["long"] is not None:
                points[submission["jurisdiction_id"]].append((submission["lat"], submission["long"]))
        for jurisdiction_id, located in points.items():
            if jurisdiction_id in self.jurisdictions:
                try:
                    self.jurisdictions[jurisdiction_id].geography.prime(located)
                except Exception:  # each point is looked up again on its own, and fails there with its request
                    log.exception("district_prefetch_failed", jurisdiction_id=jurisdiction_id)

    def _decode(self, value: bytes | None) -> Decoded:
        try:
            return self.codec.decode(contract_schemas.SUBMITTED, value)
        except contract_exceptions.DecodeError as error:
            return error

    # ---- decide -----------------------------------------------------------------------------------------

    def decide(self, inputs: Sequence[Input], decoded: Sequence[Decoded]) -> list[Outcome]:
        """The outcome of each input, its record not yet encoded (`outcome.decision`); never raises for bad input.

        What cannot be decoded or processed is dead-lettered with its raw bytes. Each outcome's emits hold the
        intake index's writes and expiries, bound for the changelog partition of the input's."""
        return [self._decide_one(item, submission) for item, submission in zip(inputs, decoded)]

    def _decide_one(self, item: Input, submission: Decoded) -> Outcome:
        outcome = Outcome(kind="", emits=[])
        watch = _Stopwatch(outcome.timings)
        with logs.bound_source(*item.source):
            if isinstance(submission, contract_exceptions.DecodeError):
                decided = self._dead_letter(item, code=submission.code, reason=str(submission))
            else:
                decided = self._decision(item, submission, watch)
        watch.last_stage()
        outcome.kind, outcome.request_id, outcome.decision = decided.kind, decided.request_id, decided
        outcome.reasons, outcome.labels = decided.reasons, decided.labels
        partition = item.source.partition
        self.index.expire(partition=partition)
        changes = self.index.drain()
        if changes and self.changelog_topic:
            outcome.emits.extend(Emit(self.changelog_topic, orjson.dumps(k),
                                      None if v is None else orjson.dumps(v), partition) for k, v in changes)
        return outcome

    def _decision(self, item: Input, submission: dict, watch: _Stopwatch) -> Decision:
        try:
            return pipeline_decision.decide(submission, key=item.key, source=item.source,
                                            jurisdictions=self.jurisdictions, index=self.index, topics=self.topics,
                                            now_ms=self.clock(), mark=watch.mark)
        except Exception as error:  # a poison message must never stop the agent
            return self._failed(error, item, request_id=submission.get("request_id"))

    def _failed(self, error: Exception, item: Input, *, request_id: str | None) -> Decision:
        """A processing error: logged with its traceback, the input dead-lettered with its raw bytes."""
        log.exception("processing_failed", request_id=request_id)
        return self._dead_letter(item, code="processing_error", reason=f"{type(error).__name__}: {error}")

    def _dead_letter(self, item: Input, *, code: str, reason: str) -> Decision:
        record = dead_letters.dead_letter(source=item.source, key=item.key, value=item.value, code=code,
                                          reason=reason, now=self.clock())
        return Decision(kind="dead_lettered", request_id=None, record=record, reasons=(code,))

    # ---- encode -----------------------------------------------------------------------------------------

    def encode(self, inputs: Sequence[Input], outcomes: Sequence[Outcome]) -> None:
        """Encode the outcomes' records, one after another, in front of their emits.

        Back to back, fastavro's code and the schema stay in the CPU's caches (docs/performance.md). A record
        that cannot be encoded dead-letters its request, as any processing error does. RegistryError leaves the
        outcomes not yet encoded as they are: calling `encode` again carries on with them."""
        for item, outcome in zip(inputs, outcomes):
            if outcome.decision is not None:
                started = time.perf_counter()
                outcome.emits[:0] = self._encoded(item, outcome)
                outcome.decision = None
                stage = "route" if "enrich" in outcome.timings else "validate"
                outcome.timings[stage] = outcome.timings.get(stage, 0.0) + time.perf_counter() - started

    def _encoded(self, item: Input, outcome: Outcome) -> list[Emit]:
        decided = outcome.decision
        if decided.kind == "dead_lettered":
            return [Emit(self.topics.dead_letter, item.key, self.codec.encode(contract_schemas.DEAD_LETTER,
                                                                              decided.record))]
        try:
            if decided.kind == "rejected":
                value = self.codec.encode(contract_schemas.REJECTED, decided.record)
                return [Emit(self.topics.rejected, decided.request_id.encode(), value)]
            return self._routed_emits(decided)
        except contract_exceptions.RegistryError:
            raise
        except Exception as error:  # as in `decide`: the request is dead-lettered, the batch goes on
            with logs.bound_source(*item.source):
                dead = self._failed(error, item, request_id=decided.request_id)
            outcome.kind, outcome.reasons, outcome.labels = dead.kind, dead.reasons, {}
            return self._encoded(item, Outcome(kind=dead.kind, emits=[], decision=dead))

    def _routed_emits(self, decided: Decision) -> list[Emit]:
        """Routed topic (every accepted request) with contact details, the agency or triage topic without
        (duplicates: no new work)."""
        record = decided.record
        key = record["request_id"].encode()
        with_contact, without = self.codec.encode_variants(contract_schemas.ROUTED, record, field_name="contact",
                                                           values=[record["contact"], None])
        emits = [Emit(self.topics.routed, key, with_contact)]
        if decided.kind != "duplicate":
            emits.append(Emit(record["routing"]["topic"], key, without))
        return emits
