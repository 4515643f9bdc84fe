"""Errors of the `civicflow jurisdiction` commands."""

from civicflow.streams.exceptions import CivicflowError


class DraftError(CivicflowError):
    """A draft that cannot be made: an unreadable export or mapping, a boundary file, a directory in the way."""
