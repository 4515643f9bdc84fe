"""The shipped files: in a checkout, the repository folders setup.py copies into the wheel (the wheel itself is
checked in tests/test_package_integration.py)."""

import pytest

from civicflow.streams import resources
from civicflow.streams.settings import REPO_ROOT, Settings


@pytest.mark.parametrize("name,folder", sorted(resources.LAYOUT.items()))
def test_each_shipped_name_is_its_repository_folder_in_a_checkout(name, folder):
    assert resources.packaged_root() is None
    assert resources.path(name) == REPO_ROOT / folder and resources.path(name).exists()


def test_files_inside_and_the_folder_of_jurisdictions():
    assert resources.path("api/keys.yaml") == REPO_ROOT / "deploy" / "api" / "keys.yaml"
    assert resources.path("jurisdictions") == REPO_ROOT / "deploy" / "jurisdictions"
    with pytest.raises(KeyError, match="not among the files"):
        resources.path("secrets")


def test_every_shipped_folder_says_where_its_data_comes_from():
    for name in ("jurisdictions/nyc", "demo"):
        assert (resources.path(name) / "SOURCES.md").is_file()


def test_the_settings_defaults_are_the_shipped_files(monkeypatch):
    for variable in ("CIVICFLOW_JURISDICTIONS_DIR", "CIVICFLOW_API_KEYS", "CIVICFLOW_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    settings = Settings()
    assert settings.jurisdictions_dir == resources.path("jurisdictions")
    assert settings.api_keys_file == resources.path("api/keys.yaml")
    assert settings.data_dir == REPO_ROOT / ".civicflow"
