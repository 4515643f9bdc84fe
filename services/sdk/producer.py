"""The frontend producer SDK: submit service requests to the intake topic."""

from civicflow.services.sdk import delivery as sdk_delivery
from civicflow.services.sdk import requests as sdk_requests
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.kafka import security as kafka_security


class RequestProducer:
    """Encodes requests in the wire format and produces them, keyed by jurisdiction and service."""

    def __init__(self, *, bootstrap_servers: str, security: kafka_security.ClientSecurity,
                 topics: contract_topics.Topics, codec: contract_codec.Codec,
                 default_jurisdiction: str | None = None, linger_ms: int = 5) -> None:
        self.topics = topics
        self.codec = codec
        self.default_jurisdiction = default_jurisdiction
        self._producer = sdk_delivery.producer(bootstrap_servers=bootstrap_servers, security=security,
                                               linger_ms=linger_ms)

    def submit(self, request: dict) -> tuple[str, sdk_delivery.Pending]:
        """Send one request (dict as frontends write it); returns its request id and a Pending whose get()
        returns the Receipt. Raises SubmissionError (every problem of the request's shape, nothing sent);
        get() raises DeliveryError when the broker does not acknowledge it."""
        record = sdk_requests.to_record(request, default_jurisdiction=self.default_jurisdiction)
        return record["request_id"], self.send_record(record)

    def send_record(self, record: dict) -> sdk_delivery.Pending:
        """Send an already-built submission record."""
        value = self.codec.encode(contract_schemas.SUBMITTED, record)
        future = self._producer.send(self.topics.intake, key=sdk_requests.partition_key(record), value=value)
        return sdk_delivery.Pending(future, record["request_id"])

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
