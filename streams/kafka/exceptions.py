"""Errors of the Kafka client layer."""

from streams.exceptions import CivicflowError


class TransactionsUnavailable(CivicflowError):
    """exactly_once was asked for on a broker that does not start Kafka transactions; the message is the reason,
    in one line."""
