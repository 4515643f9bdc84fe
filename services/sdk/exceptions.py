"""Errors the SDKs raise."""

from streams.exceptions import CivicflowError


class SubmissionError(CivicflowError):
    """A request that cannot be turned into a ServiceRequestSubmitted record."""
