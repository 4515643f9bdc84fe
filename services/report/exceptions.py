"""Errors of the report."""

from streams.exceptions import CivicflowError


class ReportError(CivicflowError):
    """A report that cannot be made as asked (bad period, unknown format, ambiguous jurisdiction)."""


class NothingToReport(ReportError):
    """The read model holds no request for the jurisdiction and period asked."""
