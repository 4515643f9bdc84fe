"""notifications.yaml: message templates per language and kind (str.format fields, see templates.FIELDS)."""

from pydantic import BaseModel, ConfigDict, Field

KINDS = ("received", "routed", "acknowledged", "in_progress", "resolved", "closed", "breach_apology")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Template(_Model):
    subject: str
    body: str


class NotificationsFile(_Model):
    """Templates by language (BCP 47 primary tag, e.g. en, es), each with every kind."""

    default_language: str
    templates: dict[str, dict[str, Template]] = Field(min_length=1)
