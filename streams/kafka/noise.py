"""kafka-python's log records that report its own shutdown races rather than anything about the cluster (both
brokers: the race is the client's).

kafka-python 3.0's transport awaits a readable socket, then reads it; when the connection is closed in between (a
client closed while its I/O thread was waiting, as every process does on Ctrl-C or SIGTERM), the read finds no
socket and logs `Error receiving network data closing socket` at ERROR with an AttributeError traceback, although
the transport is already closed and nothing is lost (kafka/net/transport.py, `_read_from_sock` checks `_closed`
only before the wait). `ClosedTransportRead` drops exactly that record: the logger, the message, a transport whose
description says `(closed)` and an AttributeError; any other receive error still shows.
"""

import logging

TRANSPORT_LOGGER = "kafka.net.transport"
RECEIVE_ERROR = "Error receiving network data"


class ClosedTransportRead(logging.Filter):
    """Drops kafka-python's report of a read on a transport it had already closed (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not is_closed_transport_read(record)


def is_closed_transport_read(record: logging.LogRecord) -> bool:
    if record.name != TRANSPORT_LOGGER or RECEIVE_ERROR not in str(record.msg):
        return False
    error = record.exc_info[1] if record.exc_info else None
    transport = record.args[0] if isinstance(record.args, tuple) and record.args else None
    return isinstance(error, AttributeError) and "(closed)" in str(transport)


def install() -> None:
    """Attach the filter to kafka-python's transport logger (once, however often the logs are configured)."""
    logger = logging.getLogger(TRANSPORT_LOGGER)
    if not any(isinstance(f, ClosedTransportRead) for f in logger.filters):
        logger.addFilter(ClosedTransportRead())
