"""What the jurisdiction's rules see of a submission."""

from collections.abc import Mapping

from civicflow.streams.jurisdiction.conditions import Facts


def of(*, service, submission: Mapping, districts: Mapping[str, str], priority: str | None = None) -> Facts:
    """The facts rules match on, for a submission of this service (`Jurisdiction.service_for`)."""
    return Facts(service_code=service.service_code, service_group=service.group, attributes=submission["attributes"],
                 description=submission["description"], districts=districts, priority=priority)
