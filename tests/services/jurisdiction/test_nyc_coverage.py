"""The shipped NYC jurisdiction has a service for every complaint type of the three NYC files, as a replay
reads them: the catalog's service by name, or the code a replay gives an unlisted text."""

import pytest

from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import Settings
from tests.services.jurisdiction.conftest import NYC_2011, NYC_2018, NYC_2026


@pytest.fixture(scope="module")
def nyc():
    return jurisdiction_loader.load_jurisdiction(Settings().jurisdictions_dir / "nyc")


@pytest.mark.parametrize("path, format_name, types", [(NYC_2011, "nyc311", 45), (NYC_2018, "nyc311", 116),
                                                      (NYC_2026, "nyc311-api", 152)])
def test_every_complaint_type_of_the_nyc_files_is_a_service(nyc, path, format_name, types):
    if not path.exists():
        pytest.skip(f"{path} is not there")
    mapping = replay_mapping.load(format_name=format_name)
    reader = replay_rows.RowReader(mapping=mapping, jurisdiction=nyc)
    texts = {row[mapping.columns.service].strip() for row in replay_rows.read(path)}
    assert len(texts) == types
    missing = {t for t in texts if reader.service_of(t) is None and replay_rows.service_slug(t) not in nyc.services}
    assert missing == set()
    assert {reader.agency(row) for row in replay_rows.read(path)} <= set(nyc.agency_names)


def test_existing_services_kept_their_agencies_and_new_ones_name_theirs(nyc):
    assert (nyc.services["noise-residential"].agency, nyc.services["consumer-complaint"].agency) == ("NYPD", "DCA")
    assert nyc.services["heat-hot-water"].agency == "HPD" and nyc.services["e-scooter"].agency == "DOT"
    assert len(nyc.services) == 194 and len(nyc.agency_names) == 22
