"""Errors of the Kafka client layer."""

from streams.exceptions import CivicflowError


class BrokerUnreachable(CivicflowError):
    """No broker of the configured cluster answered within the time allowed."""
