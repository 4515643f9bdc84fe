"""The report's own setting, read from the environment like civicflow.streams.settings (which the report does not own)."""

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from civicflow.services.report.exceptions import ReportError
from civicflow.services.report.figures import DEFAULT_MIN_COUNT


class ReportSettings(BaseSettings):
    """`civicflow report` configuration (environment variables in brackets)."""

    model_config = SettingsConfigDict(frozen=True, env_prefix="", case_sensitive=False, populate_by_name=True)

    min_count: int = Field(default=DEFAULT_MIN_COUNT, ge=0, validation_alias="CIVICFLOW_REPORT_MIN_COUNT",
                           description="[CIVICFLOW_REPORT_MIN_COUNT] fewest closed requests (settled resolve goals) "
                           "a group needs to be ranked by time to close (on-time rate) and highlighted (20); "
                           "`civicflow report --min-count N` overrides it.")


def min_count(asked: int | None) -> int:
    """The minimum count: the one asked (the command line's --min-count), else CIVICFLOW_REPORT_MIN_COUNT, else
    20. Raises ReportError for a negative or unreadable value."""
    if asked is not None:
        if asked < 0:
            raise ReportError(f"--min-count must be 0 or more, not {asked}")
        return asked
    try:
        return ReportSettings().min_count
    except ValidationError as error:
        raise ReportError(f"CIVICFLOW_REPORT_MIN_COUNT must be a whole number, 0 or more "
                          f"({error.errors()[0]['msg']})") from error
