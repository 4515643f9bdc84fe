"""Cross-file checks: every name a file uses must exist where it is defined; every problem is listed."""

import copy

import pytest

from civicflow.streams.jurisdiction import checks as jurisdiction_checks
from civicflow.streams.jurisdiction import models

VALID = {
    "jurisdiction.yaml": {
        "id": "town", "name": "Town", "time_zone": "Europe/Paris", "agencies": {"ROADS": {"name": "Roads"}},
        "boundaries": {"extent": "town", "layers": [{"name": "town", "file": "t.geojson", "id_property": "id"},
                                                    {"name": "ward", "file": "w.geojson", "id_property": "id"}]}},
    "services.yaml": {"services": [
        {"service_code": "pothole", "service_name": "Pothole", "agency": "ROADS", "group": "Streets",
         "attributes": [{"code": "size", "datatype": "singlevaluelist", "description": "size",
                         "values": [{"key": "big", "name": "Big"}, {"key": "small", "name": "Small"}]},
                        {"code": "depth", "datatype": "number", "description": "depth"}]}]},
    "routing.yaml": {"rules": [{"name": "holes", "agency": "ROADS", "when": {
        "service_code": ["pothole"], "service_group": ["Streets"], "priority": ["high"], "districts": {"ward": ["1"]},
        "attributes": {"size": ["big"]}}}], "default": {"agency": "ROADS"}},
    "priority.yaml": {"levels": ["low", "high"], "default": "low",
                      "rules": [{"name": "big", "when": {"attributes": {"size": ["big"]}}, "priority": "high"}]},
}
MODELS = {"jurisdiction.yaml": ("config", models.JurisdictionFile), "services.yaml": ("services", models.ServicesFile),
          "routing.yaml": ("routing", models.RoutingFile), "priority.yaml": ("priority", models.PriorityFile)}


def problems(change=None) -> list[str]:
    files = copy.deepcopy(VALID)
    if change:
        change(files)
    return jurisdiction_checks.cross_references(
        **{argument: model.model_validate(files[name]) for name, (argument, model) in MODELS.items()})


def test_a_consistent_jurisdiction_has_no_problems():
    assert problems() == []


def _service(files):
    return files["services.yaml"]["services"][0]


def _routing_when(files):
    return files["routing.yaml"]["rules"][0]["when"]


CASES = {
    "layer twice": (lambda f: f["jurisdiction.yaml"]["boundaries"]["layers"].append(
        {"name": "ward", "file": "x.geojson", "id_property": "id"}),
        "jurisdiction.yaml: boundaries.layers: layer 'ward' is defined twice"),
    "extent not a layer": (lambda f: f["jurisdiction.yaml"]["boundaries"].update(extent="city"),
                           "jurisdiction.yaml: boundaries.extent: 'city' is not a layer"),
    "service twice": (lambda f: f["services.yaml"]["services"].append(_service(f)),
                      "services.yaml: service_code 'pothole' is defined twice"),
    "service agency": (lambda f: _service(f).update(agency="PARKS"),
                       "services.yaml: pothole: agency 'PARKS' is not in jurisdiction.yaml agencies"),
    "attribute twice": (lambda f: _service(f)["attributes"].append(_service(f)["attributes"][1]),
                        "services.yaml: pothole: attribute 'depth' is defined twice"),
    "list without values": (lambda f: _service(f)["attributes"][0].update(values=[]),
                            "services.yaml: pothole.size: a singlevaluelist needs values"),
    "values on a number": (lambda f: _service(f)["attributes"][1].update(values=[{"key": "a", "name": "A"}]),
                           "services.yaml: pothole.depth: a number takes no values"),
    "value key twice": (lambda f: _service(f)["attributes"][0]["values"].append({"key": "big", "name": "Huge"}),
                        "services.yaml: pothole.size: value key 'big' is defined twice"),
    "rule name twice": (lambda f: f["routing.yaml"]["rules"].append(f["routing.yaml"]["rules"][0]),
                        "routing.yaml: rule name 'holes' is used twice"),
    "rule agency": (lambda f: f["routing.yaml"]["rules"][0].update(agency="PARKS"),
                    "routing.yaml: holes: agency 'PARKS' is not in jurisdiction.yaml agencies"),
    "default agency": (lambda f: f["routing.yaml"]["default"].update(agency="PARKS"),
                       "routing.yaml: default: agency 'PARKS' is not in jurisdiction.yaml agencies"),
    "rule service code": (lambda f: _routing_when(f).update(service_code=["pothole", "graffiti"]),
                          "routing.yaml: holes: when.service_code: 'graffiti' is unknown"),
    "rule group": (lambda f: _routing_when(f).update(service_group=["Parks"]),
                   "routing.yaml: holes: when.service_group: 'Parks' is unknown"),
    "rule priority": (lambda f: _routing_when(f).update(priority=["urgent"]),
                      "routing.yaml: holes: when.priority: 'urgent' is unknown"),
    "rule layer": (lambda f: _routing_when(f).update(districts={"borough": ["1"]}),
                   "routing.yaml: holes: when.districts: 'borough' is unknown"),
    "rule attribute": (lambda f: _routing_when(f).update(attributes={"colour": ["red"]}),
                       "routing.yaml: holes: when.attributes: 'colour' is unknown"),
    "level twice": (lambda f: f["priority.yaml"]["levels"].append("low"), "priority.yaml: level 'low' is listed twice"),
    "default level": (lambda f: f["priority.yaml"].update(default="normal"),
                      "priority.yaml: default: 'normal' is not one of the levels"),
    "priority rule level": (lambda f: f["priority.yaml"]["rules"][0].update(priority="urgent"),
                            "priority.yaml: big: priority 'urgent' is not one of the levels"),
    "priority on priority": (lambda f: f["priority.yaml"]["rules"][0]["when"].update(priority=["high"]),
                             "priority.yaml: big: a priority rule cannot match on priority"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_problem_is_reported_with_file_and_place(case):
    change, expected = CASES[case]
    assert problems(change) == [expected]


def test_all_problems_are_reported_together():
    together = [CASES[case] for case in sorted(CASES) if case != "list without values"]  # it empties the values

    def change_all(files):
        for change, _ in together:
            change(files)

    assert {expected for _, expected in together} <= set(problems(change_all))
