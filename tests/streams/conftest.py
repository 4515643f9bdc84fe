"""Fixtures of the stream tests: a copy of the NYC jurisdiction to break, a way to edit its YAML, and the
problems loading it reports."""

import shutil

import pytest
import yaml

from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.jurisdiction.exceptions import JurisdictionConfigError
from civicflow.streams.settings import Settings

NYC = Settings().jurisdictions_dir / "nyc"


def edit(path, change) -> None:
    """Load a YAML file, let `change` modify the data in place, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def problems_of(directory) -> list[str]:
    """Every problem loading a broken jurisdiction directory reports (the header counts them)."""
    with pytest.raises(JurisdictionConfigError) as raised:
        jurisdiction_loader.load_jurisdiction(directory)
    header, *problems = str(raised.value).split("\n  - ")
    assert header.endswith(f"({len(problems)} problems):"), header
    return problems


def assert_reported(problems: list[str], expected: list[str]) -> None:
    """Exactly as many problems as expected, each starting as one of the expected texts."""
    assert len(problems) == len(expected), problems
    for start in expected:
        assert any(p.startswith(start) for p in problems), f"{start!r} not in {problems}"


@pytest.fixture
def nyc_copy(tmp_path):
    """A copy of the shipped NYC jurisdiction directory."""
    return shutil.copytree(NYC, tmp_path / "nyc")
