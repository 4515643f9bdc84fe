"""The lifecycle tests' jurisdictions: the repository's, as a worker loads them."""

import pytest

from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import Settings


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)
