"""Errors of the Kafka client package."""

from streams.exceptions import CivicflowError


class SecurityConfigError(CivicflowError):
    """The Kafka or Schema Registry security settings cannot work (one line says which and why)."""
