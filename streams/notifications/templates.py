"""Choosing a template language and rendering a notification with the jurisdiction's templates."""

from datetime import datetime
from zoneinfo import ZoneInfo

from civicflow.streams.notifications.models import KINDS, NotificationsFile

FIELDS = ("first_name", "request_id", "service_name", "agency_name", "status_notes", "expected")


def problems(spec: NotificationsFile) -> list[str]:
    """Every problem of a notifications.yaml: missing kinds, unknown placeholders, no default language."""
    found = []
    if spec.default_language not in spec.templates:
        found.append(f"notifications.yaml: default_language {spec.default_language!r} has no templates")
    for language, templates in spec.templates.items():
        found += [f"notifications.yaml: {language}: no template for {kind}" for kind in KINDS if kind not in templates]
        found += [f"notifications.yaml: {language}.{kind}: {kind!r} is not a notification kind"
                  for kind in templates if kind not in KINDS]
        for kind, template in templates.items():
            for text in (template.subject, template.body):
                try:
                    text.format_map(_Probe())
                except (KeyError, ValueError, IndexError) as error:
                    found.append(f"notifications.yaml: {language}.{kind}: bad placeholder {error}")
    return found


class _Probe(dict):
    def __missing__(self, key):
        if key not in FIELDS:
            raise KeyError(key)
        return ""


def language_for(*, spec: NotificationsFile | None, wanted: str | None) -> str | None:
    """The citizen's language when there are templates in it (by primary tag), else the default."""
    if spec is None:
        return None
    primary = (wanted or "").split("-")[0].lower()
    return primary if primary in spec.templates else spec.default_language


def render(*, spec: NotificationsFile, notification: dict, service_name: str, agency_name: str | None,
           zone: ZoneInfo) -> tuple[str, str]:
    """(subject, body) of a notification in its language."""
    template = spec.templates[notification["language"]][notification["kind"]]
    expected = notification["expected_at"]
    values = {"first_name": notification["first_name"] or "", "request_id": notification["request_id"],
              "service_name": service_name, "agency_name": agency_name or "the city",
              "status_notes": notification["status_notes"] or "",
              "expected": _local(expected, zone) if expected else ""}
    return template.subject.format_map(values), template.body.format_map(values)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
