"""Read jurisdiction directories, validate them and report every problem at once, with file and place."""

import copy
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
import yaml

from civicflow.streams.jurisdiction import checks as jurisdiction_checks
from civicflow.streams.jurisdiction import geography as jurisdiction_geography
from civicflow.streams.jurisdiction import models
from civicflow.streams.jurisdiction.compiled import Jurisdiction
from civicflow.streams.jurisdiction.exceptions import JurisdictionConfigError
from civicflow.streams.notifications import models as notifications_models
from civicflow.streams.notifications import templates as notifications_templates
from civicflow.streams.sla import checks as sla_checks
from civicflow.streams.sla import models as sla_models
from civicflow.streams.sla import policy as sla_policy

FILES = {"jurisdiction.yaml": models.JurisdictionFile, "services.yaml": models.ServicesFile,
         "routing.yaml": models.RoutingFile, "priority.yaml": models.PriorityFile}


def load_jurisdictions(root: Path) -> dict[str, Jurisdiction]:
    """Every jurisdiction under root (one sub-directory each, holding jurisdiction.yaml), by id."""
    directories = sorted(p.parent for p in Path(root).glob("*/jurisdiction.yaml"))
    if not directories:
        raise JurisdictionConfigError(f"{root}: no jurisdiction directory (a sub-directory with jurisdiction.yaml)")
    loaded = [load_jurisdiction(directory) for directory in directories]
    found: dict[str, Jurisdiction] = {}
    for jurisdiction in loaded:
        if jurisdiction.id in found:
            raise JurisdictionConfigError(f"{jurisdiction.directory}: id {jurisdiction.id!r} is used twice")
        found[jurisdiction.id] = jurisdiction
    return found


def load_jurisdiction(directory: Path) -> Jurisdiction:
    """One jurisdiction directory; raises JurisdictionConfigError listing every problem."""
    directory = Path(directory)
    problems: list[str] = []
    parsed = {name: _parse(directory / name, model, problems) for name, model in FILES.items()}
    if any(model is None for model in parsed.values()):
        raise JurisdictionConfigError(_report(directory, problems))
    config = parsed["jurisdiction.yaml"]
    problems += jurisdiction_checks.cross_references(config=config, services=parsed["services.yaml"],
                                                     routing=parsed["routing.yaml"],
                                                     priority=parsed["priority.yaml"])
    problems += _time_zone_problems(config.time_zone)
    sla = _sla(directory, parsed, problems)
    notifications = _optional(directory / "notifications.yaml", notifications_models.NotificationsFile, problems,
                              check=notifications_templates.problems)
    layers = _layers(directory, config, problems)
    if problems:
        raise JurisdictionConfigError(_report(directory, problems))
    boundaries = config.boundaries
    geography = jurisdiction_geography.Geography(layers=layers, extent=boundaries and boundaries.extent,
                                                 tolerance_m=boundaries.tolerance_m if boundaries else 0.0)
    compiled_sla = sla_policy.compile_sla(sla, time_zone=config.time_zone) if sla else sla_policy.NO_SLA
    return Jurisdiction(config=config, services=parsed["services.yaml"], routing=parsed["routing.yaml"],
                        priority=parsed["priority.yaml"], geography=geography, directory=directory,
                        sla=compiled_sla, notifications=notifications)


def _optional(path: Path, model, problems: list[str], *, check):
    """An optional file of the directory, parsed and checked (None when absent or broken)."""
    if not path.exists():
        return None
    before = len(problems)
    parsed = _parse(path, model, problems)
    if parsed is not None:
        problems += check(parsed)
    return parsed if len(problems) == before else None


def _sla(directory: Path, parsed: dict, problems: list[str]) -> sla_models.SlaFile | None:
    """sla.yaml when the jurisdiction has one (without it, requests have no SLA goals), checked."""
    if not (directory / "sla.yaml").exists():
        return None
    before = len(problems)
    sla = _parse(directory / "sla.yaml", sla_models.SlaFile, problems)
    if sla is None or len(problems) > before:
        return None
    known = jurisdiction_checks.known_names(config=parsed["jurisdiction.yaml"], services=parsed["services.yaml"],
                                            priority=parsed["priority.yaml"])
    problems += sla_checks.problems(sla=sla, known=known)
    return sla


def _parse(path: Path, model: type[pydantic.BaseModel], problems: list[str]):
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        problems.append(f"{path.name}: cannot be read ({error.strerror})")
        return None
    except yaml.YAMLError as error:
        problems.append(f"{path.name}: not valid YAML ({error})")
        return None
    try:
        return model.model_validate(raw if raw is not None else {})
    except pydantic.ValidationError as error:
        for item in error.errors():
            place = ".".join(str(part) for part in item["loc"]) or "(top level)"
            problems.append(f"{path.name}: {place}: {item['msg']}")
        # Unknown keys alone must not hide the file's other problems: check the file without them.
        unknown = [item["loc"] for item in error.errors() if item["type"] == "extra_forbidden"]
        return _without_keys(model, raw, unknown) if len(unknown) == len(error.errors()) else None


def _without_keys(model: type[pydantic.BaseModel], raw, locations: list[tuple]):
    """The model of raw with the keys at these locations dropped, or None when that does not validate either."""
    data = copy.deepcopy(raw)
    try:
        for location in locations:
            parent = data
            for part in location[:-1]:
                parent = parent[part]
            parent.pop(location[-1], None)
        return model.model_validate(data)
    except (LookupError, TypeError, AttributeError, pydantic.ValidationError):
        return None


def _time_zone_problems(name: str) -> list[str]:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"jurisdiction.yaml: time_zone: {name!r} is not an IANA time zone"]
    return []


def _layers(directory: Path, config: models.JurisdictionFile, problems: list[str]) -> list:
    layers = []
    for spec in config.boundaries.layers if config.boundaries else ():
        try:
            layers.append(jurisdiction_geography.read_layer(name=spec.name, path=directory / spec.file,
                                                            id_property=spec.id_property))
        except JurisdictionConfigError as error:
            problems.append(f"jurisdiction.yaml: boundaries.layers.{spec.name}: {error}")
    return layers


def _report(directory: Path, problems: list[str]) -> str:
    return f"jurisdiction {directory} is not valid ({len(problems)} problems):\n" + "\n".join(
        f"  - {p}" for p in problems)
