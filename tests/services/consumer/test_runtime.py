"""The consumer runtime on a stand-in consumer (no broker): commit only after apply, a transient failure read
again from the batch's first records, a schema-registry outage waited out for any handler, anything else raised,
signals restored and the metrics server shut down."""

import signal
import threading
import urllib.request

import pytest

from civicflow.services.broker import service as broker_service
from civicflow.services.consumer import runtime as consumer_runtime
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.settings import Settings
from tests.support.consumers import FakeConsumer


class Recorder(consumer_runtime.Handler):
    """A handler that records the values it applied and fails as told: `failures` errors, one per call."""

    def __init__(self, *failures: BaseException, transient=()) -> None:
        self.failures = list(failures)
        self.transient_types = tuple(transient)
        self.applied: list[bytes] = []
        self.retries: list[str] = []
        self.observed: list[int] = []

    def apply(self, messages):
        if self.failures:
            raise self.failures.pop(0)
        self.applied.extend(m.value for m in messages)
        return len(messages)

    def transient(self, error):
        return isinstance(error, self.transient_types)

    def retried(self, error):
        self.retries.append(type(error).__name__)

    def observe(self, result, seconds):
        assert seconds >= 0
        self.observed.append(result)


def logs() -> dict[str, list[bytes]]:
    return {"a": [b"a0", b"a1", b"a2"], "b": [b"b0"]}


def test_each_batch_is_committed_after_it_is_applied():
    stop = threading.Event()
    consumer, handler = FakeConsumer(logs(), stop=stop), Recorder()
    consumer_runtime.consume(consumer, handler, stop=stop)
    assert handler.applied == [b"a0", b"a1", b"b0", b"a2"]
    assert {tp.topic: offset for tp, offset in consumer.committed.items()} == {"a": 3, "b": 1}
    assert consumer.commits == 2 and handler.observed == [3, 1] and consumer.seeks == []


def test_a_schema_registry_outage_rewinds_the_batch_for_every_handler():
    stop = threading.Event()
    consumer = FakeConsumer(logs(), stop=stop)
    handler = Recorder(contract_exceptions.RegistryError("down"), contract_exceptions.RegistryError("down"))
    pauses = []
    consumer_runtime.consume(consumer, handler, stop=stop, sleep=lambda s: pauses.append(s) or False)
    assert pauses == [0.5, 1.0] and handler.retries == ["RegistryError", "RegistryError"]
    assert [offset for _, offset in consumer.seeks] == [0, 0, 0, 0]
    assert handler.applied == [b"a0", b"a1", b"b0", b"a2"]  # each record applied once, none lost
    assert {tp.topic: offset for tp, offset in consumer.committed.items()} == {"a": 3, "b": 1}


def test_the_handler_names_its_own_transient_errors_and_the_pause_is_reset_after_a_success():
    stop = threading.Event()
    consumer = FakeConsumer({"a": [b"x"] * 4}, stop=stop)
    handler = Recorder(TimeoutError("db"), TimeoutError("db"), transient=(TimeoutError,))
    pauses = []
    consumer_runtime.consume(consumer, handler, stop=stop, sleep=lambda s: pauses.append(s) or False)
    assert pauses == [0.5, 1.0] and len(handler.applied) == 4


def test_the_pause_doubles_up_to_its_cap():
    stop = threading.Event()
    consumer = FakeConsumer({"a": [b"x"]}, stop=stop)
    handler = Recorder(*(contract_exceptions.RegistryError("down") for _ in range(8)))
    pauses = []
    consumer_runtime.consume(consumer, handler, stop=stop, sleep=lambda s: pauses.append(s) or False)
    assert pauses == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_any_other_error_propagates_and_nothing_is_committed():
    stop = threading.Event()
    consumer = FakeConsumer(logs(), stop=stop)
    with pytest.raises(ValueError):
        consumer_runtime.consume(consumer, Recorder(ValueError("bug")), stop=stop)
    assert consumer.commits == 0


def test_serve_stops_on_sigterm_restores_handlers_and_shuts_the_metrics_server():
    port = broker_service.free_port()
    stop = threading.Event()
    seen = {}
    before = signal.getsignal(signal.SIGTERM)

    def on_idle():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            seen["metrics"] = response.status
        seen["handler"] = signal.getsignal(signal.SIGTERM)
        seen["handler"](signal.SIGTERM, None)  # as the signal would
        assert stop.is_set()

    consumer = FakeConsumer(logs(), stop=threading.Event(), on_idle=on_idle)
    handler = Recorder()
    consumer_runtime.serve(Settings(web_host="127.0.0.1"), name="test", handler=handler, connect=lambda: consumer,
                           metrics_port=port, stop=stop)
    assert seen["metrics"] == 200 and seen["handler"] is not before
    assert signal.getsignal(signal.SIGTERM) is before and consumer.closed
    assert len(handler.applied) == 4
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
