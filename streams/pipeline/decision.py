"""The intake decision: one decoded submission in, its decision out (validate → enrich → route).

`decide` reads the jurisdictions and the intake index (idempotency keys and open requests of the input's
partition) and writes the index; it encodes nothing, sends nothing and times nothing: the batch wrapper
(streams/pipeline/stages.py) decodes, encodes, times and ships what it returns, and the local replay engine
(services/replay/local.py) hands it the submission dict without Avro.

Time inside is epoch milliseconds (int): the intake index, the contracts' timestamp-millis fields and the
lifecycle processor all count in them, so the clock is read in them and a submission's datetimes (as Avro
decodes them) are converted once, here. Validation alone gets the clock as a datetime: its rules compare the
submission's datetimes with it and its messages print it.
"""

from collections.abc import Callable, Mapping

from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.enrichment import districts as enrichment_districts
from civicflow.streams.enrichment import facts as enrichment_facts
from civicflow.streams.enrichment import priority as enrichment_priority
from civicflow.streams.events import clock as event_clock
from civicflow.streams.pipeline import index as pipeline_index
from civicflow.streams.pipeline import records
from civicflow.streams.pipeline.models import Decision, Source
from civicflow.streams.routing import rules as routing_rules
from civicflow.streams.validation import checks as validation_checks
from civicflow.streams.validation import imports as validation_imports
from civicflow.streams.validation.models import Reason


def _unmarked(stage: str) -> None:
    """No stage timing."""


def decide(submission: dict, *, key: bytes | None, source: Source, jurisdictions: Mapping,
           index: pipeline_index.IntakeIndex, topics: contract_topics.Topics, now_ms: int,
           mark: Callable[[str], None] = _unmarked) -> Decision:
    """Reject the submission (every reason), or route it: to an agency's work topic, to triage, or as a duplicate
    of an open request. `mark(stage)` is called as validation and enrichment end (the wrapper's stage timing).
    Raises whatever a rule raises on input it cannot handle (the wrapper dead-letters the input)."""
    reasons = validation_checks.validate(submission=submission, jurisdictions=jurisdictions, key=key,
                                         now=event_clock.from_ms(now_ms))
    warnings: list[Reason] = []
    if validation_imports.is_import(submission):
        reasons, warnings, submission = validation_imports.as_recorded(submission=submission, reasons=reasons)
    if reasons:
        return _rejected(submission, reasons, source=source, now_ms=now_ms)
    jurisdiction = jurisdictions[submission["jurisdiction_id"]]
    at_ms, partition = event_clock.to_ms(submission["submitted_at"]), source.partition
    index.observe(partition=partition, at_ms=at_ms)
    original = _claim_idempotency_key(submission, index=index, at_ms=at_ms, partition=partition)
    if original:
        reason = Reason(code="duplicate_submission", field="idempotency_key",
                        message=f"idempotency key already used for request {original} within the window")
        return _rejected(submission, [reason], source=source, now_ms=now_ms, original_request_id=original)
    mark("validate")
    return _routed(submission, jurisdiction=jurisdiction, index=index, topics=topics, at_ms=at_ms,
                   partition=partition, now_ms=now_ms, warnings=warnings, mark=mark)


def _claim_idempotency_key(submission: dict, *, index: pipeline_index.IntakeIndex, at_ms: int,
                           partition: int) -> str | None:
    """The request an idempotency key already belongs to within the window; else the key becomes this one's."""
    key = submission["idempotency_key"]
    if not key:
        return None
    where = dict(jurisdiction_id=submission["jurisdiction_id"], key=key, request_id=submission["request_id"])
    original = index.original_for(**where, at_ms=at_ms)
    if original is None:
        index.remember_key(**where, at_ms=at_ms, partition=partition)
    return original


def _routed(submission: dict, *, jurisdiction, index: pipeline_index.IntakeIndex, topics: contract_topics.Topics,
            at_ms: int, partition: int, now_ms: int, warnings: list[Reason], mark: Callable[[str], None]) -> Decision:
    service = jurisdiction.service_for(submission)
    districts = enrichment_districts.lookup(jurisdiction=jurisdiction, submission=submission)
    facts = enrichment_facts.of(service=service, submission=submission, districts=districts)
    priority, priority_rule = enrichment_priority.prioritize(jurisdiction=jurisdiction, facts=facts)
    duplicate_of = _duplicate_of(submission, jurisdiction=jurisdiction, index=index, at_ms=at_ms,
                                 partition=partition)
    mark("enrich")
    facts = enrichment_facts.of(service=service, submission=submission, districts=districts, priority=priority)
    decision = routing_rules.route(jurisdiction=jurisdiction, facts=facts,
                                   recorded_agency=validation_imports.recorded_agency(submission))
    if duplicate_of:
        kind, topic = "duplicate", topics.routed
    elif decision.triage:
        kind, topic = "triage", topics.triage
    else:
        kind, topic = "routed", topics.work(jurisdiction_id=jurisdiction.id, agency=decision.agency)
    record = records.routed(
        submission=submission, service=service, now_ms=now_ms,
        enrichment={"districts": districts, "priority": priority, "priority_rule": priority_rule,
                    "duplicate_of": duplicate_of},
        routing={"outcome": kind, "agency": decision.agency, "queue": decision.queue, "rule": decision.rule,
                 "topic": topic},
        warnings=warnings,
    )
    return Decision(kind=kind, request_id=submission["request_id"], record=record,
                    labels={"jurisdiction": jurisdiction.id, "agency": decision.agency or "",
                            "channel": submission["channel"]})


def _duplicate_of(submission: dict, *, jurisdiction, index: pipeline_index.IntakeIndex, at_ms: int,
                  partition: int) -> str | None:
    """The open request this one duplicates; else it is indexed as an open original (listed services only)."""
    settings = jurisdiction.duplicate_settings(submission["service_code"])  # None for an unlisted service
    if settings is None or submission["lat"] is None or submission["long"] is None:
        return None
    near = pipeline_index.Nearby(jurisdiction_id=jurisdiction.id, service_code=submission["service_code"],
                                 lat=submission["lat"], lon=submission["long"], at_ms=at_ms,
                                 radius_m=settings.radius_m, window_ms=int(settings.window_hours * 3_600_000))
    original = index.duplicate_of(request_id=submission["request_id"], near=near)
    if original is None:
        index.add_open(request_id=submission["request_id"], near=near, partition=partition)
    return original


def _rejected(submission: dict, reasons: list[Reason], *, source: Source, now_ms: int,
              original_request_id: str | None = None) -> Decision:
    record = records.rejected(submission=submission, reasons=reasons, now_ms=now_ms, source=source,
                              original_request_id=original_request_id)
    return Decision(kind="rejected", request_id=submission["request_id"], record=record,
                    reasons=tuple(r.code for r in reasons))
