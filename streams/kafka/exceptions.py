"""Errors of the kafka package."""

from streams.exceptions import CivicflowError


class UntestedClientVersions(CivicflowError):
    """The installed Kafka client libraries are not the versions streams/kafka's corrections were tested with."""
