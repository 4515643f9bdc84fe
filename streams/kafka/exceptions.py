"""Errors of the kafka package."""

from civicflow.streams.exceptions import CivicflowError


class SecurityConfigError(CivicflowError):
    """The Kafka or Schema Registry security settings cannot work (one line says which and why)."""


class TransactionsUnavailable(CivicflowError):
    """exactly_once was asked for on a broker that does not start Kafka transactions; the message is the reason,
    in one line."""


class UntestedClientVersions(CivicflowError):
    """The installed Kafka client libraries are not the versions streams/kafka's corrections were tested with."""


class BrokerUnreachable(CivicflowError):
    """No broker of the configured cluster answered within the time allowed."""
