"""Errors of the replay."""

from civicflow.streams.exceptions import CivicflowError


class ReplayError(CivicflowError):
    """The replay could not run."""


class MappingError(ReplayError):
    """A mapping file that cannot be used."""
