"""`civicflow jurisdiction draft` on NYC's own files, as if New York were a new city: the 2018 day drafts a
jurisdiction that loads as it is, and a second run on the 2026 week adds to it and keeps a person's edits."""

import csv
import shutil
from datetime import datetime

import pytest
import yaml

from civicflow.services.jurisdiction import draft as jurisdiction_draft
from civicflow.services.replay import check as replay_check
from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.routing import models as routing_models
from civicflow.streams.routing import rules as routing_rules
from civicflow.streams.jurisdiction.conditions import Facts
from tests.services.jurisdiction.conftest import NYC_2018, NYC_2026, NYC_GEO

pytestmark = pytest.mark.skipif(not NYC_2018.exists(), reason="the shared NYC 311 files are not there")


@pytest.fixture(scope="module")
def drafted(tmp_path_factory):
    out = tmp_path_factory.mktemp("draft") / "nyc"
    done = jurisdiction_draft.run(export=NYC_2018, out=out, format_name="nyc311", boundaries=[
        f"borough={NYC_GEO / 'boroughs.geojson'}", f"community_district={NYC_GEO / 'community_districts.geojson'}"])
    return done


@pytest.fixture(scope="module")
def nyc(drafted):
    return jurisdiction_loader.load_jurisdiction(drafted.directory)


@pytest.fixture(scope="module")
def rows():
    return list(replay_rows.read(NYC_2018))


def test_the_draft_loads_as_it_is_with_the_export_s_agencies_and_the_boundaries_given(drafted, nyc):
    assert sorted(p.name for p in drafted.directory.iterdir()) == [
        "DRAFT.md", "boundaries", "jurisdiction.yaml", "priority.yaml", "routing.yaml", "services.yaml", "sla.yaml"]
    assert (nyc.id, nyc.time_zone) == ("nyc", "America/New_York")
    assert len(nyc.agencies()) == 19 and nyc.agency_names["HPD"].name == (
        "Department of Housing Preservation and Development")
    assert [layer.name for layer in nyc.geography.layers] == ["borough", "community_district"]
    assert nyc.geography.extent == "borough"
    assert nyc.geography.districts(lat=40.7580, lon=-73.9855) == {"borough": "Manhattan", "community_district": "105"}
    config = yaml.safe_load((drafted.directory / "jurisdiction.yaml").read_text())
    assert config["boundaries"]["layers"][0] == {"name": "borough", "file": "boundaries/boroughs.geojson",
                                                 "id_property": "BoroName"}, "a name is preferred to a number"


def test_every_complaint_type_is_a_service_a_replay_finds(nyc, rows):
    texts = {row["Complaint Type"] for row in rows}
    assert len(texts) == 116
    assert len(nyc.services) == 115, "PLUMBING and Plumbing differ only in case: one service"
    reader = replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311"), jurisdiction=nyc)
    assert {t for t in texts if reader.service_of(t) is None} == set()
    assert {reader.request(row)["service_code"] for row in rows} == set(nyc.services)
    by_service = {}
    for row in rows:
        by_service.setdefault(reader.service_of(row["Complaint Type"]).service_code, set()).add(row["Agency"])
    assert all(nyc.services[code].agency in agencies for code, agencies in by_service.items())


def test_routing_has_only_exceptions_and_a_request_goes_to_its_service_s_agency(drafted, nyc):
    assert yaml.safe_load((drafted.directory / "routing.yaml").read_text()) == {"rules": []}
    facts = Facts(service_code="noise-residential", service_group=None, attributes={}, description=None,
                  districts={}, priority="normal")
    decision = routing_rules.route(jurisdiction=nyc, facts=facts)
    assert (decision.agency, decision.rule) == ("NYPD", routing_models.SERVICE_AGENCY)
    assert nyc.priority_levels == ("low", "normal", "high", "urgent") and nyc.priority_rules == []


def test_services_with_due_dates_have_a_resolve_target_and_the_others_none(drafted, nyc, rows):
    with_due = set()
    reader = replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311"), jurisdiction=nyc)
    for row in rows:
        due, _ = reader.due(row)
        if due is not None and due > reader.created(row):
            with_due.add(reader.service_of(row["Complaint Type"]).service_code)
    assert len(with_due) == 69
    assert set(nyc.sla.by_name) == with_due, "one policy per service with due dates, named after it"
    for code in with_due:
        (goal,) = nyc.sla.by_name[code]
        assert goal.name == "resolve" and goal.target_ms > 0
    hour, day = 3_600_000, 86_400_000
    noise, = nyc.sla.by_name["noise-residential"]
    assert (noise.target_ms, noise.target_days) == (8 * hour, 0), "8 h after creation at any time of day"
    consumer, = nyc.sla.by_name["consumer-complaint"]
    assert (consumer.target_ms, consumer.target_days) == (4 * day, 4), "the same wall time 4 days later"
    assert "heat-hot-water" in nyc.services and "heat-hot-water" not in nyc.sla.by_name


def test_the_review_counts_what_replay_check_counts(drafted, nyc):
    review = (drafted.directory / "DRAFT.md").read_text()
    found = replay_check.check(reader=replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311"),
                                                            jurisdiction=nyc), path=NYC_2018)
    assert drafted.check.rows == found.rows == 6765
    assert drafted.check.anomalies == found.anomalies
    for key, label in replay_check.ANOMALIES.items():
        assert f"| {label}" in review and f"{found.anomalies.get(key, 0):,} |" in review
    for section in ("## Rows and services", "## Services handled by several agencies", "## Due offsets",
                    "## Anomalies", "## Boundaries", "## How the draft decides"):
        assert section in review
    assert "| plumbing " in review and "HPD 97.9 %, DOB 2.1 %" in review
    assert "chosen: the property with a distinct value on every feature" in review


def test_a_second_run_on_a_newer_export_adds_what_is_new_and_keeps_hand_edits(drafted, tmp_path, cli):
    out = shutil.copytree(drafted.directory, tmp_path / "nyc")
    services = (out / "services.yaml").read_text()
    services = services.replace("  description: Air Quality. Handled by Department of Environmental Protection.",
                                "  description: Smells and smoke.  # edited by hand", 1)
    (out / "services.yaml").write_text(services)
    config = (out / "jurisdiction.yaml").read_text()
    (out / "jurisdiction.yaml").write_text(config.replace("HRA: {name: HRA Benefit Card Replacement}",
                                                          "HRA: {name: Human Resources Administration}  # by hand"))
    sla = (out / "sla.yaml").read_text()
    (out / "sla.yaml").write_text(sla.replace("  goals:\n    resolve: {target: P4D}",
                                              "  goals:\n    resolve: {target: P5D}  # agreed with DCA", 1))

    code, printed, errors = cli("jurisdiction", "draft", NYC_2026, "--format", "nyc311-api", "--out", out)

    assert code == 0, errors
    assert "added to" in printed and "services (" in printed and "agencies (3): DCWP, OOS, OTI" in printed
    assert "attribute values:" in printed
    nyc = jurisdiction_loader.load_jurisdiction(out)
    texts = {row["complaint_type"] for row in replay_rows.read(NYC_2026)}
    reader = replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311-api"), jurisdiction=nyc)
    assert {t for t in texts if reader.service_of(t) is None and replay_rows.service_slug(t) not in nyc.services} \
        == set()
    assert "e-scooter" in nyc.services and nyc.services["e-scooter"].agency == "DOT"
    assert nyc.services["air-quality"].description == "Smells and smoke."
    assert "  description: Smells and smoke.  # edited by hand\n" in (out / "services.yaml").read_text()
    assert nyc.agency_names["HRA"].name == "Human Resources Administration"
    assert "# by hand" in (out / "jurisdiction.yaml").read_text()
    assert nyc.sla.by_name["consumer-complaint"][0].target_days == 5
    assert "# agreed with DCA" in (out / "sla.yaml").read_text()
    assert nyc.services["consumer-complaint"].agency == "DCA", "an existing service keeps its agency"
    abuse = {a.code: a for a in nyc.services["animal-abuse"].attributes}["descriptor"]
    assert "In Car" in [v.name for v in abuse.values], "a value first seen in 2026 is added"
    assert "the catalog says DCA: kept" in (out / "DRAFT.md").read_text()

    again, printed, _ = cli("jurisdiction", "draft", NYC_2026, "--format", "nyc311-api", "--out", out)
    assert again == 0 and "nothing new" in printed and "nothing changed" in printed


def test_check_prints_one_line_about_a_drafted_directory(drafted, cli):
    code, printed, errors = cli("jurisdiction", "check", drafted.directory)
    assert code == 0 and errors == ""
    assert printed.count("\n") == 1
    assert "ok: jurisdiction nyc" in printed and "115 services, 19 agencies, 2 boundary layers" in printed
    assert "69 SLA policies" in printed


def test_due_offsets_read_by_hand_agree_with_the_draft(drafted):
    """The target of a service with one kind of offset is that offset, read from the CSV without the reader."""
    hours = {}
    for row in csv.DictReader(NYC_2018.open(encoding="utf-8-sig")):
        if row["Complaint Type"] == "Blocked Driveway" and row["Due Date"]:
            created = datetime.strptime(row["Created Date"], "%m/%d/%y %H:%M")
            due = datetime.strptime(row["Due Date"], "%m/%d/%y %H:%M")
            hours[(due - created).total_seconds() / 3600] = True
    assert list(hours) == [8.0]
    assert drafted.targets["blocked-driveway"].iso == "PT8H"
