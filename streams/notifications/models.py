"""notifications.yaml: message templates per language and kind (str.format fields, see templates.FIELDS)."""

from pydantic import Field

from civicflow.streams.configuration import ConfigModel

KINDS = ("received", "routed", "acknowledged", "in_progress", "resolved", "closed", "breach_apology")


class Template(ConfigModel):
    subject: str
    body: str


class NotificationsFile(ConfigModel):
    """Templates by language (BCP 47 primary tag, e.g. en, es), each with every kind."""

    default_language: str
    templates: dict[str, dict[str, Template]] = Field(min_length=1)
