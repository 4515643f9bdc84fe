"""The "Onboard your city" walk-through (docs/replays-and-onboarding.md): the example mapping drafts a jurisdiction
from NYC's day of 2018 as if it were a new city, `jurisdiction check` passes it, and `replay --check` reads the export
against it."""

import os
import subprocess
import sys

import pytest

from civicflow.services.jurisdiction import draft as jurisdiction_draft
from civicflow.streams.settings import REPO_ROOT
from tests.services.jurisdiction.conftest import NYC_2018, NYC_GEO

MAPPING = REPO_ROOT / "deploy" / "replay" / "examples" / "onboard-2018.yaml"

pytestmark = pytest.mark.skipif(not NYC_2018.exists(), reason="the shared NYC 311 files are not there")


def test_the_example_mapping_drafts_a_city_that_checks_and_replay_check_reads(tmp_path, cli):
    assert len(MAPPING.read_text().splitlines()) <= 22, "docs/replays-and-onboarding.md: a mapping of about 20 lines"
    out = tmp_path / "jurisdictions" / "newcity"
    code, printed, errors = cli("jurisdiction", "draft", NYC_2018, "--mapping", MAPPING, "--out", out,
                                "--boundaries", f"borough={NYC_GEO / 'boroughs.geojson'}",
                                f"community_district={NYC_GEO / 'community_districts.geojson'}")
    assert code == 0, errors
    assert f"drafted {out}: 115 services, 19 agencies, 2 boundary layers, 69 SLA policies" in printed

    code, printed, errors = cli("jurisdiction", "check", out)
    assert code == 0 and "ok: jurisdiction newcity (New City), 115 services" in printed

    done = subprocess.run([sys.executable, "-m", "civicflow.services.cli", "replay", str(NYC_2018), "--mapping", str(MAPPING),
                           "--check"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CIVICFLOW_JURISDICTIONS_DIR": str(out.parent)})
    assert done.returncode == 0, done.stderr
    assert "6,765 rows" in done.stdout and "(0 match no service of the catalog" in done.stdout
    assert "channel texts matching nothing" not in done.stdout and "ok: a replay can run" in done.stdout


def test_the_example_mapping_names_every_column_the_draft_uses():
    mapping, _ = jurisdiction_draft.load_mapping(path=MAPPING, format_name=None)
    assert (mapping.jurisdiction_id, mapping.name, mapping.columns.due) == ("newcity", "New City", "Due Date")
    assert mapping.columns.agency_name == "Agency Name" and mapping.attributes == {"descriptor": "Descriptor"}
