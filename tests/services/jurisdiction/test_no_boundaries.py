"""A jurisdiction without boundary layers loads: every point is inside it and has no districts (what a draft
made before the city's boundary files are at hand needs)."""

from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from tests.streams.conftest import problems_of


def write(directory, **files) -> None:
    directory.mkdir()
    defaults = {"jurisdiction.yaml": "id: town\nname: Town\ntime_zone: Europe/Paris\nagencies: {ROADS: {name: Roads}}\n",
                "services.yaml": "services:\n- {service_code: pothole, service_name: Pothole, agency: ROADS}\n",
                "routing.yaml": "rules: []\n", "priority.yaml": "levels: [normal]\ndefault: normal\n"}
    for name, text in {**defaults, **{k.replace("_", "."): v for k, v in files.items()}}.items():
        (directory / name).write_text(text)


def test_without_boundaries_every_point_is_inside_and_has_no_districts(tmp_path):
    write(tmp_path / "town")
    town = jurisdiction_loader.load_jurisdiction(tmp_path / "town")
    assert town.geography.layers == [] and town.geography.extent is None
    assert town.geography.contains(lat=48.85, lon=2.35) and town.geography.contains(lat=-33.9, lon=151.2)
    assert not town.geography.contains(lat=float("nan"), lon=2.35)
    assert town.geography.districts(lat=48.85, lon=2.35) == {}
    town.geography.prime([(48.85, 2.35)])


def test_a_rule_on_districts_of_a_jurisdiction_without_layers_is_a_problem(tmp_path):
    write(tmp_path / "town", routing_yaml="rules:\n- {name: north, when: {districts: {ward: ['1']}}, agency: ROADS}\n")
    assert problems_of(tmp_path / "town") == ["routing.yaml: north: when.districts: 'ward' is unknown"]
