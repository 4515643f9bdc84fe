"""Errors of the read model."""

from civicflow.streams.exceptions import CivicflowError


class ProjectionError(CivicflowError):
    """A record the projection cannot apply (unknown topic kind, unsupported database)."""
