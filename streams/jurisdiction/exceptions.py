"""Errors of the jurisdiction package."""

from civicflow.streams.exceptions import CivicflowError


class JurisdictionConfigError(CivicflowError):
    """A jurisdiction directory that cannot be used; the message lists every problem found."""
