"""A jurisdiction ready for per-event use: its files loaded, cross-checked and compiled."""

from civicflow.streams.jurisdiction.conditions import Matcher
from civicflow.streams.jurisdiction.models import (DuplicateSettings, JurisdictionFile, PriorityFile, RoutingFile, Service,
                                         ServicesFile)


class Jurisdiction:
    """One jurisdiction, loaded, cross-checked and compiled for per-event use."""

    def __init__(self, *, config: JurisdictionFile, services: ServicesFile, routing: RoutingFile,
                 priority: PriorityFile, geography, directory, sla, notifications=None) -> None:
        self.id = config.id
        self.name = config.name
        self.time_zone = config.time_zone
        self.agency_names = config.agencies
        self.directory = directory
        self.geography = geography
        self.services: dict[str, Service] = {s.service_code: s for s in services.services}
        self.routing_rules = [(rule, Matcher(rule.when)) for rule in routing.rules]
        self.default_route = routing.default
        self.priority_levels = tuple(priority.levels)
        self.default_priority = priority.default
        self.priority_rules = [(rule, Matcher(rule.when)) for rule in priority.rules]
        self._by_service = {code: (_for_service(self.routing_rules, code), _for_service(self.priority_rules, code))
                            for code in self.services}
        self._duplicates = config.duplicates
        self.sla = sla
        self.notifications = notifications  # templates for citizen notifications, None when it has none

    def agencies(self) -> list[str]:
        """Agency codes, sorted: each has a work topic."""
        return sorted(self.agency_names)

    def routing_rules_for(self, service_code: str) -> list:
        """The routing rules, in order, that a request of this service can match (others name other services)."""
        return self._by_service[service_code][0] if service_code in self._by_service else self.routing_rules

    def priority_rules_for(self, service_code: str) -> list:
        """The priority rules, in order, that a request of this service can match."""
        return self._by_service[service_code][1] if service_code in self._by_service else self.priority_rules

    def service_for(self, submission) -> Service:
        """The catalog's service of a submission; for an import of a service the catalog does not list, an
        unlisted service named by the export, owned by the row's agency, without attributes or duplicates."""
        service = self.services.get(submission["service_code"])
        if service is not None:
            return service
        record = submission.get("import_record") or {}
        return Service.model_construct(service_code=submission["service_code"],
                                       service_name=record.get("service_name") or submission["service_code"],
                                       description="", type="realtime", keywords=[], group=None,
                                       agency=record.get("agency") or "", attributes=[], duplicates=None,
                                       location_required=False)

    def duplicate_settings(self, service_code: str) -> DuplicateSettings | None:
        """Radius and window of duplicate detection for a service (None: the service is never deduplicated, as
        an unlisted one of an import)."""
        if service_code not in self.services:
            return None
        own = self.services[service_code].duplicates
        return self._duplicates if own == "default" else own


def _for_service(rules: list, service_code: str) -> list:
    return [(rule, matcher) for rule, matcher in rules
            if rule.when.service_code is None or service_code in rule.when.service_code]
