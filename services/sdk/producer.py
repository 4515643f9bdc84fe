"""The frontend producer SDK: submit service requests to the intake topic."""

from dataclasses import dataclass

from kafka import KafkaProducer

from services.sdk import requests as sdk_requests
from streams.contracts import codec as contract_codec
from streams.contracts import schemas as contract_schemas
from streams.contracts import topics as contract_topics


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where a submission landed."""

    request_id: str
    topic: str
    partition: int
    offset: int


class RequestProducer:
    """Encodes requests in the wire format and produces them, keyed by jurisdiction and service."""

    def __init__(self, *, bootstrap_servers: str, topics: contract_topics.Topics, codec: contract_codec.Codec,
                 default_jurisdiction: str | None = None, linger_ms: int = 5) -> None:
        self.topics = topics
        self.codec = codec
        self.default_jurisdiction = default_jurisdiction
        self._producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=linger_ms,
                                       batch_size=65536, max_request_size=10 * 1024 * 1024, retries=5)

    def submit(self, request: dict):
        """Send one request (dict as frontends write it); returns (request_id, future of its Receipt)."""
        record = sdk_requests.to_record(request, default_jurisdiction=self.default_jurisdiction)
        return record["request_id"], self.send_record(record)

    def send_record(self, record: dict):
        """Send an already-built submission record; returns a future of its Receipt."""
        value = self.codec.encode(contract_schemas.SUBMITTED, record)
        future = self._producer.send(self.topics.intake, key=sdk_requests.partition_key(record), value=value)
        request_id = record["request_id"]
        return _ReceiptFuture(future, request_id)

    def send_raw(self, *, key: bytes | None, value: bytes | None):
        """Send bytes as they are (tests and demos of the dead-letter path)."""
        return self._producer.send(self.topics.intake, key=key, value=value)

    def flush(self) -> None:
        self._producer.flush()

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()

    def __enter__(self) -> "RequestProducer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _ReceiptFuture:
    def __init__(self, future, request_id: str) -> None:
        self._future = future
        self.request_id = request_id

    def get(self, timeout: float = 30.0) -> Receipt:
        meta = self._future.get(timeout=timeout)
        return Receipt(request_id=self.request_id, topic=meta.topic, partition=meta.partition, offset=meta.offset)
