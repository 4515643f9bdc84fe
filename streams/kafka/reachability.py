"""Is the cluster there? One bounded check before a command starts its clients.

Without it an unreachable cluster shows as half a minute of silence and then a flood of connection errors from
every client (Faust, aiokafka, kafka-python each retry on their own); with it the command says in a few seconds
which address it tried and what to do.
"""

import logging
from contextlib import contextmanager

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.kafka.exceptions import BrokerUnreachable

TIMEOUT_S = 5.0  # with the interpreter's start, a command reports an unreachable cluster within 10 s


@contextmanager
def _quiet(name: str = "kafka"):
    """The client logs each failed attempt at ERROR; the one line BrokerUnreachable says is enough."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def check(bootstrap_servers: str, *, security: kafka_security.ClientSecurity, timeout_s: float = TIMEOUT_S,
          variable: str = "KAFKA_BOOTSTRAP_SERVERS") -> None:
    """Return when a broker at bootstrap_servers answers within timeout_s; raise BrokerUnreachable otherwise."""
    milliseconds = max(1, int(timeout_s * 1000))
    try:
        with _quiet():
            client = KafkaAdminClient(bootstrap_servers=bootstrap_servers, bootstrap_timeout_ms=milliseconds,
                                      request_timeout_ms=milliseconds, client_id="civicflow-reachability",
                                      **security.kafka_python())
            client.close()
    except (KafkaError, OSError, ValueError) as error:
        raise BrokerUnreachable(
            f"cannot reach Kafka at {bootstrap_servers} within {timeout_s:g} s ({type(error).__name__}). "
            f"Start one (`civicflow broker`) or set {variable} to a cluster that is up (unset, `civicflow run` "
            "starts the embedded broker itself)") from error
