"""kafka-python's report of a read on a transport it already closed is dropped; its other errors still show. The
records are made by kafka-python itself: a real transport, closed, then read as its I/O task does after the wait."""

import logging

import pytest
from kafka.net.transport import KafkaTCPTransport

from civicflow.streams.kafka import noise as kafka_noise
from civicflow.streams.observability import logs


class _Broken:
    """A socket whose read fails with an AttributeError of its own (not the closed-transport race)."""

    def recv(self, _size):
        raise AttributeError("a bug elsewhere")

    def getpeername(self):
        return ("127.0.0.1", 9092)

    def getsockname(self):
        return ("127.0.0.1", 50000)


@pytest.fixture
def transport_records():
    logs.configure(log_format="json", level="INFO")
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record)

    keep = Keep()
    logging.getLogger().addHandler(keep)
    yield seen
    logging.getLogger().removeHandler(keep)


def _read(transport) -> object:
    _data, error = transport._sock_recv()  # what kafka-python's _read_from_sock does after its wait
    return error


def test_a_read_on_a_closed_transport_is_not_reported(transport_records):
    transport = KafkaTCPTransport(None, None)
    transport.close()
    assert _read(transport) is not None, "kafka-python still returns the error to its caller"
    assert [r for r in transport_records if r.levelno >= logging.ERROR] == []


def test_the_same_error_on_an_open_transport_is_reported(transport_records):
    transport = KafkaTCPTransport(None, _Broken())
    _read(transport)
    [record] = [r for r in transport_records if r.levelno >= logging.ERROR]
    assert kafka_noise.RECEIVE_ERROR in record.getMessage() and record.exc_info is not None


def test_the_filter_is_installed_once_however_often_logs_are_configured():
    logs.configure(log_format="json")
    logs.configure(log_format="json")
    filters = logging.getLogger(kafka_noise.TRANSPORT_LOGGER).filters
    assert sum(isinstance(f, kafka_noise.ClosedTransportRead) for f in filters) == 1
