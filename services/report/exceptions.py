"""Errors of the report."""

from civicflow.streams.exceptions import CivicflowError


class ReportError(CivicflowError):
    """A report that cannot be made as asked (bad period, unknown format, ambiguous jurisdiction)."""


class NothingToReport(ReportError):
    """The read model holds no request for the jurisdiction and period asked."""


class ReadModelUnreadable(ReportError):
    """The read model could not be read (the database refused, the file is not a database)."""
