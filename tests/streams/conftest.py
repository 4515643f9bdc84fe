"""Fixtures of the stream tests: a copy of the NYC jurisdiction to break, and a way to edit its YAML."""

import shutil

import pytest
import yaml

from streams.settings import Settings

NYC = Settings().jurisdictions_dir / "nyc"


def edit(path, change) -> None:
    """Load a YAML file, let `change` modify the data in place, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


@pytest.fixture
def nyc_copy(tmp_path):
    """A copy of the shipped NYC jurisdiction directory."""
    return shutil.copytree(NYC, tmp_path / "nyc")
