"""Errors of the SLA package."""

from civicflow.streams.exceptions import CivicflowError


class SlaError(CivicflowError):
    """An SLA policy or calendar that cannot be used."""


class CalendarError(SlaError):
    """A business calendar that cannot count time (no opening hours, unknown holidays)."""
