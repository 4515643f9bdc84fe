"""Loading jurisdiction directories: the shipped NYC one loads; a broken one reports every problem at once."""

import shutil

import pytest

from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.jurisdiction.exceptions import JurisdictionConfigError
from civicflow.streams.settings import Settings
from tests.streams.conftest import assert_reported, edit, problems_of

NYC = Settings().jurisdictions_dir / "nyc"


def test_the_shipped_nyc_directory_loads():
    jurisdictions = jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)
    nyc = jurisdictions["nyc"]
    assert list(jurisdictions) == ["nyc"]
    assert (nyc.name, nyc.time_zone) == ("New York City", "America/New_York")
    assert "NYPD" in nyc.agencies() and nyc.agencies() == sorted(nyc.agencies())
    assert nyc.priority_levels == ("low", "normal", "high", "urgent") and nyc.default_priority == "normal"
    assert nyc.routing_rules[0][0].name == "nypd-noise-priority" and nyc.default_route is None
    assert nyc.duplicate_settings("street-sign-missing").radius_m == 30
    assert nyc.duplicate_settings("animal-in-a-park").window_hours == 720, "a service's own settings win"


def test_a_copy_loads_too(nyc_copy):
    assert jurisdiction_loader.load_jurisdiction(nyc_copy).id == "nyc"


def test_a_broken_directory_reports_every_problem_with_file_and_place(nyc_copy):
    def break_routing(data):
        data["rules"][0]["agency"] = "NYPDD"
        data["rules"][1]["when"]["service_code"] = ["illegal-parking", "no-such-service"]
        data["rules"][2]["qeue"] = "typo"

    def break_config(data):
        data["time_zone"] = "America/Gotham"
        data["boundaries"]["layers"][1]["file"] = "boundaries/missing.geojson"

    edit(nyc_copy / "routing.yaml", break_routing)
    edit(nyc_copy / "jurisdiction.yaml", break_config)
    edit(nyc_copy / "services.yaml", lambda data: data["services"].append(data["services"][0]))

    problems = problems_of(nyc_copy)

    expected = [
        "routing.yaml: rules.2.qeue: Extra inputs are not permitted",
        "routing.yaml: nypd-noise-priority: agency 'NYPDD' is not in jurisdiction.yaml agencies",
        "routing.yaml: nypd-hydrants: when.service_code: 'no-such-service' is unknown",
        "jurisdiction.yaml: time_zone: 'America/Gotham' is not an IANA time zone",
        "jurisdiction.yaml: boundaries.layers.community_district: ",
        "services.yaml: service_code 'animal-in-a-park' is defined twice",
    ]
    assert_reported(problems, expected)
    missing = next(p for p in problems if "community_district" in p)
    assert "missing.geojson" in missing


def test_an_unknown_key_is_reported_with_its_place(nyc_copy):
    edit(nyc_copy / "jurisdiction.yaml", lambda data: data["agencies"]["DOT"].update(nmae="typo"))
    assert problems_of(nyc_copy) == ["jurisdiction.yaml: agencies.DOT.nmae: Extra inputs are not permitted"]


def test_an_unknown_key_does_not_hide_the_other_problems_of_its_file(nyc_copy):
    edit(nyc_copy / "jurisdiction.yaml", lambda data: data.update(colour="blue", time_zone="Mars/Olympus"))
    assert problems_of(nyc_copy) == ["jurisdiction.yaml: colour: Extra inputs are not permitted",
                                     "jurisdiction.yaml: time_zone: 'Mars/Olympus' is not an IANA time zone"]


def test_a_missing_field_is_reported_with_its_place(nyc_copy):
    edit(nyc_copy / "services.yaml", lambda data: data["services"][3].pop("agency"))
    edit(nyc_copy / "priority.yaml", lambda data: data.update(default=["normal"]))
    assert problems_of(nyc_copy) == ["services.yaml: services.3.agency: Field required",
                                     "priority.yaml: default: Input should be a valid string"]


def test_unreadable_and_invalid_files_are_named(nyc_copy):
    (nyc_copy / "priority.yaml").unlink()
    (nyc_copy / "routing.yaml").write_text("rules: [unclosed\n")
    problems = problems_of(nyc_copy)
    assert len(problems) == 2
    assert problems[0].startswith("routing.yaml: not valid YAML")
    assert problems[1].startswith("priority.yaml: cannot be read")


def test_a_root_without_jurisdictions_is_an_error(tmp_path):
    with pytest.raises(JurisdictionConfigError, match="no jurisdiction directory"):
        jurisdiction_loader.load_jurisdictions(tmp_path)


def test_two_directories_with_one_id_are_an_error(tmp_path):
    shutil.copytree(NYC, tmp_path / "a")
    shutil.copytree(NYC, tmp_path / "b")
    with pytest.raises(JurisdictionConfigError, match="id 'nyc' is used twice"):
        jurisdiction_loader.load_jurisdictions(tmp_path)
