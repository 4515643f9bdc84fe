"""Errors the SDKs raise."""

from civicflow.streams.exceptions import CivicflowError


class SubmissionError(CivicflowError):
    """A request that cannot be turned into a ServiceRequestSubmitted record."""


class DeliveryError(CivicflowError):
    """The broker did not acknowledge a record within the time allowed (after the producer's own retries)."""


class TopicNotFound(CivicflowError):
    """A topic (or a partition of it) that the cluster does not have."""
