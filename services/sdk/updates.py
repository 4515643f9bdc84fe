"""The agency side of the SDK: send status updates about requests an agency owns."""

from datetime import datetime, timezone

from civicflow.services.sdk import delivery as sdk_delivery
from civicflow.services.sdk.exceptions import SubmissionError
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.events import ids
from civicflow.streams.kafka import security as kafka_security

STATUSES = ("acknowledged", "in_progress", "on_hold", "resolved", "closed", "reopened", "transferred", "duplicate")


def update_record(*, request_id: str, status: str, agency: str, jurisdiction_id: str,
                  occurred_at: datetime | None = None, note: str | None = None, to_agency: str | None = None,
                  duplicate_of: str | None = None, external_id: str | None = None,
                  update_id: str | None = None) -> dict:
    """A StatusUpdate record; the update id derives from request, status and time unless given, so a retry of
    the same update is recognised. Raises SubmissionError naming every problem."""
    occurred_at = occurred_at or datetime.now(timezone.utc)
    problems = []
    if status not in STATUSES:
        problems.append(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if occurred_at.tzinfo is None:
        problems.append("occurred_at has no UTC offset")
    if status == "transferred" and not to_agency:
        problems.append("a transfer needs to_agency")
    if status == "duplicate" and not duplicate_of:
        problems.append("a duplicate needs duplicate_of")
    if problems:
        raise SubmissionError("; ".join(problems))
    stamp = int(occurred_at.timestamp() * 1000)
    return {"update_id": update_id or ids.uuid5(f"{request_id}/{agency}/{status}/{stamp}"),
            "request_id": request_id, "jurisdiction_id": jurisdiction_id, "agency": agency, "status": status,
            "occurred_at": occurred_at, "note": note, "to_agency": to_agency, "duplicate_of": duplicate_of,
            "external_id": external_id}


class UpdateProducer:
    """Sends StatusUpdate records to the updates topic, keyed by request id (idempotent retries by update id)."""

    def __init__(self, *, bootstrap_servers: str, security: kafka_security.ClientSecurity, topics, codec,
                 jurisdiction_id: str = "nyc",
                 linger_ms: int = 5) -> None:
        self.topics = topics
        self.codec = codec
        self.jurisdiction_id = jurisdiction_id
        self._producer = sdk_delivery.producer(bootstrap_servers=bootstrap_servers, security=security,
                                               linger_ms=linger_ms)

    def send(self, *, request_id: str, status: str, agency: str, **fields) -> tuple[str, "sdk_delivery.Pending"]:
        """Send one update; returns its update id and a Pending whose get() returns the Receipt (DeliveryError
        when the broker does not acknowledge it). Raises SubmissionError for an update that cannot be built."""
        fields.setdefault("jurisdiction_id", self.jurisdiction_id)
        record = update_record(request_id=request_id, status=status, agency=agency, **fields)
        return record["update_id"], self.send_record(record)

    def send_record(self, record: dict):
        value = self.codec.encode(contract_schemas.UPDATE, record)
        future = self._producer.send(self.topics.updates, key=record["request_id"].encode(), value=value)
        return sdk_delivery.Pending(future, record["request_id"])

    def flush(self) -> None:
        self._producer.flush()

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()

    def __enter__(self) -> "UpdateProducer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
