"""Errors of the embedded broker."""

from civicflow.streams.exceptions import CivicflowError


class BrokerError(CivicflowError):
    """A broker (embedded or Apache Kafka) could not be started or did not become ready."""
