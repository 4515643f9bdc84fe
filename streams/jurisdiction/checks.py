"""Cross-file checks of a jurisdiction: every name a file uses must exist where it is defined."""

from collections import Counter

from civicflow.streams.jurisdiction import models

_LISTS = ("singlevaluelist", "multivaluelist")


def known_names(*, config: models.JurisdictionFile, services: models.ServicesFile,
                priority: models.PriorityFile) -> "Known":
    """The names the jurisdiction's files define, for checking the files that use them."""
    return Known(config=config, services=services, priority=priority)


def cross_references(*, config: models.JurisdictionFile, services: models.ServicesFile,
                     routing: models.RoutingFile, priority: models.PriorityFile) -> list[str]:
    """Every problem found, as 'file: place: message' lines."""
    known = Known(config=config, services=services, priority=priority)
    problems = _boundary_problems(config) + _service_problems(services, known)
    problems += _routing_problems(routing, known) + _priority_problems(priority, known)
    return problems


class Known:
    """The names other files may refer to."""

    def __init__(self, *, config, services, priority) -> None:
        self.agencies = set(config.agencies)
        self.layers = {layer.name for layer in config.boundaries.layers} if config.boundaries else set()
        self.services = {s.service_code for s in services.services}
        self.groups = {s.group for s in services.services if s.group}
        self.attributes = {a.code for s in services.services for a in s.attributes}
        self.levels = set(priority.levels)


def _repeated(names) -> list[str]:
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _boundary_problems(config: models.JurisdictionFile) -> list[str]:
    if config.boundaries is None:
        return []
    names = [layer.name for layer in config.boundaries.layers]
    problems = [f"jurisdiction.yaml: boundaries.layers: layer {n!r} is defined twice" for n in _repeated(names)]
    if config.boundaries.extent not in names:
        problems.append(f"jurisdiction.yaml: boundaries.extent: {config.boundaries.extent!r} is not a layer")
    return problems


def _service_problems(services: models.ServicesFile, known: Known) -> list[str]:
    codes = [s.service_code for s in services.services]
    problems = [f"services.yaml: service_code {c!r} is defined twice" for c in _repeated(codes)]
    for service in services.services:
        where = f"services.yaml: {service.service_code}"
        if service.agency not in known.agencies:
            problems.append(f"{where}: agency {service.agency!r} is not in jurisdiction.yaml agencies")
        problems += [f"{where}: attribute {c!r} is defined twice" for c in _repeated(a.code for a in service.attributes)]
        for attribute in service.attributes:
            problems += _attribute_problems(f"{where}.{attribute.code}", attribute)
    return problems


def _attribute_problems(where: str, attribute: models.Attribute) -> list[str]:
    if attribute.datatype in _LISTS and not attribute.values:
        return [f"{where}: a {attribute.datatype} needs values"]
    if attribute.datatype not in _LISTS and attribute.values:
        return [f"{where}: a {attribute.datatype} takes no values"]
    return [f"{where}: value key {k!r} is defined twice" for k in _repeated(v.key for v in attribute.values)]


def _routing_problems(routing: models.RoutingFile, known: Known) -> list[str]:
    problems = [f"routing.yaml: rule name {n!r} is used twice" for n in _repeated(r.name for r in routing.rules)]
    for rule in routing.rules:
        if rule.agency is not None and rule.agency not in known.agencies:
            problems.append(f"routing.yaml: {rule.name}: agency {rule.agency!r} is not in jurisdiction.yaml agencies")
        problems += condition_problems(f"routing.yaml: {rule.name}", rule.when, known)
    if routing.default and routing.default.agency not in known.agencies:
        problems.append(f"routing.yaml: default: agency {routing.default.agency!r} is not in jurisdiction.yaml agencies")
    return problems


def _priority_problems(priority: models.PriorityFile, known: Known) -> list[str]:
    problems = [f"priority.yaml: level {n!r} is listed twice" for n in _repeated(priority.levels)]
    problems += [f"priority.yaml: rule name {n!r} is used twice" for n in _repeated(r.name for r in priority.rules)]
    if priority.default not in known.levels:
        problems.append(f"priority.yaml: default: {priority.default!r} is not one of the levels")
    for rule in priority.rules:
        where = f"priority.yaml: {rule.name}"
        if rule.priority not in known.levels:
            problems.append(f"{where}: priority {rule.priority!r} is not one of the levels")
        if rule.when.priority is not None:
            problems.append(f"{where}: a priority rule cannot match on priority")
        problems += condition_problems(where, rule.when, known)
    return problems


def condition_problems(where: str, when: models.Condition, known: Known) -> list[str]:
    checks = [("service_code", when.service_code, known.services), ("service_group", when.service_group, known.groups),
              ("priority", when.priority, known.levels), ("districts", when.districts, known.layers),
              ("attributes", when.attributes, known.attributes)]
    return [f"{where}: when.{field}: {name!r} is unknown"
            for field, names, defined in checks if names is not None for name in names if name not in defined]
