"""What became of what a frontend or an agency sent: routed (with its agency) or refused (with its reasons) for a
submission, accepted (with the status it led to) or refused for an update. Read from the platform's own answers
(requests.routed, requests.rejected, requests.lifecycle) from the moment the watcher is opened, so open it before
sending. Used by `civicflow submit --wait` and `civicflow update --wait`."""

import time

from kafka import KafkaConsumer, TopicPartition

from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.kafka import security as kafka_security

ROUTED, TRIAGE, DUPLICATE, REFUSED, ACCEPTED, PENDING = ("routed", "triage", "duplicate", "refused", "accepted",
                                                         "pending")


class OutcomeWatcher:
    """Reads the answer topics from their ends as they were when it was opened, without a consumer group."""

    def __init__(self, *, bootstrap_servers: str, security: kafka_security.ClientSecurity, topics, codec) -> None:
        self.topics = topics
        self.codec = codec
        self._subjects = {topics.routed: contract_schemas.ROUTED, topics.rejected: contract_schemas.REJECTED,
                          topics.lifecycle: contract_schemas.LIFECYCLE}
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False,
                                       fetch_max_wait_ms=50, client_id="civicflow-outcomes",
                                       **security.kafka_python())
        parts = [TopicPartition(t, p) for t in self._subjects for p in (self._consumer.partitions_for_topic(t) or ())]
        self._consumer.assign(parts)
        self._consumer.seek_to_end()
        for part in parts:  # fix the positions now, before anything is sent
            self._consumer.position(part)

    def submissions(self, request_ids, *, timeout_s: float) -> dict[str, dict]:
        """{request id: outcome} for each submission: {"outcome": routed|triage|duplicate, "agency", "queue",
        "duplicate_of"} or {"outcome": "refused", "reasons": [{code, message, field}], "original_request_id"};
        {"outcome": "pending"} for one without an answer within timeout_s."""
        wanted = set(request_ids)
        found: dict[str, dict] = {}

        def take(topic: str, record: dict) -> None:
            request_id = record.get("request_id")
            if request_id not in wanted or request_id in found:
                return
            if topic == self.topics.routed:
                routing, enrichment = record["routing"], record["enrichment"]
                kind = DUPLICATE if enrichment["duplicate_of"] else TRIAGE if routing["outcome"] == "triage" else ROUTED
                found[request_id] = {"outcome": kind, "agency": routing["agency"], "queue": routing["queue"],
                                     "duplicate_of": enrichment["duplicate_of"]}
            elif topic == self.topics.rejected and record.get("update") is None:
                found[request_id] = {"outcome": REFUSED, "reasons": _reasons(record),
                                     "original_request_id": record.get("original_request_id")}

        self._read(take, done=lambda: wanted <= set(found), timeout_s=timeout_s)
        return {request_id: found.get(request_id, {"outcome": PENDING}) for request_id in request_ids}

    def updates(self, update_ids, *, timeout_s: float) -> dict[str, dict]:
        """{update id: outcome}: {"outcome": "accepted", "status", "agency"}, {"outcome": "refused", "reasons"}, or
        {"outcome": "pending"} without an answer within timeout_s (an update for a request not routed yet waits
        CIVICFLOW_UPDATE_GRACE_S for it)."""
        wanted = set(update_ids)
        found: dict[str, dict] = {}

        def take(topic: str, record: dict) -> None:
            update = record.get("update")
            update_id = update.get("update_id") if update else None
            if update_id not in wanted or update_id in found:
                return
            if topic == self.topics.lifecycle and record["kind"] == "transition":
                found[update_id] = {"outcome": ACCEPTED, "status": record["status"], "agency": record["agency"]}
            elif topic == self.topics.rejected:
                found[update_id] = {"outcome": REFUSED, "reasons": _reasons(record)}

        self._read(take, done=lambda: wanted <= set(found), timeout_s=timeout_s)
        return {update_id: found.get(update_id, {"outcome": PENDING}) for update_id in update_ids}

    def _read(self, take, *, done, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done() and time.monotonic() < deadline:
            for part, messages in self._consumer.poll(timeout_ms=200).items():
                for message in messages:
                    try:
                        record = self.codec.decode(self._subjects[part.topic], message.value)
                    except contract_exceptions.ContractError:
                        continue
                    take(part.topic, record)

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> "OutcomeWatcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _reasons(record: dict) -> list[dict]:
    return [{"code": r["code"], "message": r["message"], "field": r["field"]} for r in record["reasons"]]
