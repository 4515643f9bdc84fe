"""`civicflow jurisdiction check DIR`: load a jurisdiction directory as a worker would, starting nothing.

DIR is one jurisdiction directory (it holds jurisdiction.yaml) or a directory of them, as
CIVICFLOW_JURISDICTIONS_DIR is; every directory is loaded, so the problems of all of them are listed at once.
"""

from dataclasses import dataclass, field
from pathlib import Path

from civicflow.services.jurisdiction import views
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.jurisdiction.exceptions import JurisdictionConfigError


@dataclass
class CheckResult:
    """Lines to print: one summary per jurisdiction that loads, the loader's report for each that does not."""

    ok: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def fine(self) -> bool:
        return not self.problems and bool(self.ok)


def check(directory: Path) -> CheckResult:
    """Load every jurisdiction at `directory`; never raises for a configuration problem."""
    directory, result = Path(directory), CheckResult()
    if not directory.is_dir():
        result.problems.append(f"{directory}: no such directory")
        return result
    if (directory / "jurisdiction.yaml").exists():
        directories = [directory]
    else:
        directories = sorted(p.parent for p in directory.glob("*/jurisdiction.yaml"))
        if not directories:
            result.problems.append(f"{directory}: no jurisdiction.yaml, and no sub-directory with one")
            return result
    ids: dict[str, Path] = {}
    for path in directories:
        try:
            jurisdiction = jurisdiction_loader.load_jurisdiction(path)
        except JurisdictionConfigError as error:
            result.problems.append(str(error))
            continue
        if jurisdiction.id in ids:
            result.problems.append(f"{path}: id {jurisdiction.id!r} is used by {ids[jurisdiction.id]} too")
            continue
        ids[jurisdiction.id] = path
        result.ok.append(views.check_summary(jurisdiction))
    return result
