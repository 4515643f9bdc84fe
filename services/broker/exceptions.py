"""Errors of the embedded broker."""

from streams.exceptions import CivicflowError


class BrokerError(CivicflowError):
    """The embedded broker could not be started or did not become ready."""
