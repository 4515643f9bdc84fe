"""`civicflow jurisdiction draft` on a small export written here: several agencies per service, whole-day,
business-hour and hourly due offsets, no due column, no boundaries, and runs that add to a directory."""

import re
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from civicflow.services.jurisdiction import draft as jurisdiction_draft
from civicflow.services.jurisdiction.exceptions import DraftError
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from tests.services.jurisdiction.conftest import (COLUMNS, MAPPING, row, square, write_export,
                                                  write_layer)

BERLIN = ZoneInfo("Europe/Berlin")


def city_rows() -> list[dict]:
    rows = [
        # Pothole: four rows by Public Works, one by Parks; due 3 local days later, across the spring change
        # of 2026-03-29 (71 hours), so only local days make them one target.
        row(1, "2026-03-02 10:00", "Pothole", due="2026-03-05 10:00", category="Streets", kind="Deep"),
        row(2, "2026-03-03 11:15", "Pothole", due="2026-03-06 11:15", category="Streets", kind="deep"),
        row(3, "2026-03-27 10:00", "Pothole", due="2026-03-30 10:00", category="Streets", kind="Shallow"),
        row(4, "2026-03-28 09:00", "POTHOLE", due="2026-03-31 09:00", category="Streets"),
        row(5, "2026-03-04 08:00", "Pothole", due="2026-03-07 08:00", dept="Parks Department", category="Streets"),
        # Noise: 8 hours after creation, at night.
        row(6, "2026-03-02 20:00", "Noise", due="2026-03-03 04:00", category="Nuisance"),
        row(7, "2026-03-03 22:30", "Noise", due="2026-03-04 06:30", category="Nuisance"),
        row(8, "2026-03-04 21:00", "Noise", due="2026-03-05 05:00", category="Nuisance"),
        # Permit: due in office hours, 6 opening hours of Monday-Friday 08:00-18:00 after creation each time.
        row(9, "2026-03-02 09:00", "Permit", due="2026-03-02 15:00", point=None, address="Rathaus 1"),
        row(10, "2026-03-06 16:00", "Permit", due="2026-03-09 12:00", point=None, address="Rathaus 1"),
        row(11, "2026-03-07 10:00", "Permit", due="2026-03-09 14:00", point=None, address="Rathaus 1"),
        row(12, "2026-03-03 17:00", "Permit", due="2026-03-04 13:00", point=None, address="Rathaus 1"),
        # Tree: no due dates, and mostly no location.
        row(13, "2026-03-02 09:00", "Tree", dept="Parks Department", point=None),
        row(14, "2026-03-02 10:00", "Tree", dept="Parks Department", point=None),
        row(15, "2026-03-02 11:00", "Tree", dept="Parks Department"),
        # Lost card: a due date not after creation, a close before creation, a time no format reads.
        row(16, "2026-03-02 09:00", "Lost card", due="2026-03-02 09:00", closed="2026-03-01 09:00", point=None),
        row(17, "2026-03-02 09:00", "Lost card", closed="yesterday", point=None),
        # Rows that cannot be read, or have no service text.
        row(18, "not a time", "Pothole"),
        row(19, "2026-03-02 09:00", ""),
        # Street Light and Street-Light: one code, two texts.
        row(20, "2026-03-02 09:00", "Street Light", dept="Lighting"),
        row(21, "2026-03-02 09:00", "Street Light", dept="Lighting"),
        row(22, "2026-03-02 09:00", "Street-Light", dept="Lighting"),
    ]
    # Graffiti: 60 kinds, the first ones more frequent, to cap the attribute's values at 50.
    n = 100
    for kind in range(60):
        for _ in range(3 if kind < 5 else 1):
            rows.append(row(n, "2026-03-02 09:00", "Graffiti", kind=f"Kind {kind:02d}"))
            n += 1
    return rows


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "export.csv"
    write_export(path, city_rows())
    return path


@pytest.fixture
def layer(tmp_path):
    path = tmp_path / "districts.geojson"
    write_layer(path, [({"name": "North", "code": 1, "area": 1.5}, square(13.0, 52.5, 1.0)),
                       ({"name": "South", "code": 2, "area": 2.5}, square(13.0, 51.5, 1.0))])
    return path


def draft(export, out, mapping_file, *boundaries):
    return jurisdiction_draft.run(export=export, out=out, mapping_path=mapping_file, boundaries=list(boundaries))


def test_a_draft_without_boundaries_loads_every_point_is_inside_and_has_no_districts(export, tmp_path, mapping_file):
    done = draft(export, tmp_path / "city", mapping_file)
    city = jurisdiction_loader.load_jurisdiction(tmp_path / "city")
    assert "boundaries" not in yaml.safe_load((tmp_path / "city" / "jurisdiction.yaml").read_text())
    assert city.geography.layers == [] and city.geography.extent is None
    assert city.geography.contains(lat=-33.9, lon=151.2) and city.geography.districts(lat=52.5, lon=13.4) == {}
    assert not city.geography.contains(lat=float("nan"), lon=13.4)
    assert done.check.anomalies["outside_boundary"] == 0


def test_services_agencies_groups_and_locations(export, tmp_path, mapping_file):
    done = draft(export, tmp_path / "city", mapping_file)
    city = done.jurisdiction
    assert set(city.services) == {"pothole", "noise", "permit", "tree", "lost-card", "street-light", "graffiti"}
    pothole = city.services["pothole"]
    assert (pothole.service_name, pothole.agency, pothole.group) == ("Pothole", "PW", "Streets")
    assert done.survey.services["pothole"].agencies == Counter({"PW": 4, "PARKS": 1})
    assert city.agency_names["PW"].name == "Department of Public Works"
    assert city.agency_names["Lighting"].name == "Lighting", "no agency name in the export: the code"
    assert city.services["street-light"].service_name == "Street Light"
    assert done.aliases == {"street-light": ["Street-Light"]}
    assert (city.services["permit"].location_required, city.services["tree"].location_required) == (True, False)
    kinds = [v.name for v in pothole.attributes[0].values]
    assert kinds == ["Deep", "Shallow"], "Deep and deep are one value, named by the more frequent spelling"
    graffiti = city.services["graffiti"].attributes[0]
    assert len(graffiti.values) == 50 and graffiti.values[0].name == "Kind 00"
    assert done.capped == [("graffiti", "kind", 60)]
    review = (tmp_path / "city" / "DRAFT.md").read_text()
    assert "| pothole " in review and "PW 80.0 %, PARKS 20.0 %" in review
    assert "`graffiti` kind: 60 distinct values seen" in review
    assert "is also written 'Street-Light'" in review


def test_whole_days_business_hours_and_exact_hours(export, tmp_path, mapping_file):
    done = draft(export, tmp_path / "city", mapping_file)
    targets = {code: (t.iso, t.clock) for code, t in done.targets.items()}
    assert targets == {"pothole": ("P3D", "calendar"), "noise": ("PT8H", "calendar"),
                       "permit": ("PT6H", "business")}
    sla = yaml.safe_load((tmp_path / "city" / "sla.yaml").read_text())
    assert sla["calendars"] == {"business": {"hours": {day: "08:00-18:00" for day in
                                                       ("mon", "tue", "wed", "thu", "fri")}}}
    goals = done.jurisdiction.sla.by_name
    assert goals["permit"][0].clock.name == "business" and goals["permit"][0].target_ms == 6 * 3_600_000
    pothole = goals["pothole"][0]
    created = int(datetime(2026, 3, 27, 10, tzinfo=BERLIN).timestamp() * 1000)
    assert pothole.deadline_from(created) == int(datetime(2026, 3, 30, 10, tzinfo=BERLIN).timestamp() * 1000)
    assert set(goals) == {"pothole", "noise", "permit"}, "no policy without due dates after creation"


def test_anomalies_are_the_replay_check_s_counts(export, tmp_path, mapping_file, layer):
    done = draft(export, tmp_path / "city", mapping_file, f"district={layer}")
    assert done.check.rows == len(city_rows())
    assert len(done.check.unreadable) == 1 and done.survey.blank_service == 1
    assert done.check.anomalies["due_not_after_created"] == 1
    assert done.check.anomalies["closed_before_created"] == 1
    assert done.check.anomalies["unreadable_time"] == 1
    assert done.check.anomalies["no_location"] == 4
    assert done.check.anomalies["outside_boundary"] == 0
    review = (tmp_path / "city" / "DRAFT.md").read_text()
    assert re.search(r"\| a due date not after creation \(ignored\) +\| +1 \|", review)


def test_a_boundary_layer_names_its_districts_by_a_distinct_name_unless_told(export, tmp_path, mapping_file, layer):
    done = draft(export, tmp_path / "city", mapping_file, f"district={layer}")
    assert (done.layers[0].id_property, done.layers[0].unique) == ("name", ["name", "code"])
    assert (tmp_path / "city" / "boundaries" / "districts.geojson").read_bytes() == layer.read_bytes()
    assert done.jurisdiction.geography.districts(lat=52.52, lon=13.40) == {"district": "North"}
    assert not done.jurisdiction.geography.contains(lat=48.1, lon=11.6)
    other = draft(export, tmp_path / "other", mapping_file, f"district={layer}:code")
    assert other.jurisdiction.geography.districts(lat=52.52, lon=13.40) == {"district": "1"}


def test_without_a_due_column_there_is_no_sla_file(tmp_path, mapping_file):
    columns = [c for c in COLUMNS if c != "due"]
    export = tmp_path / "no-due.csv"
    write_export(export, city_rows(), columns=columns)
    mapping = tmp_path / "no-due.yaml"
    mapping.write_text(MAPPING.replace("  due: due\n", ""))
    done = draft(export, tmp_path / "city", mapping)
    assert not (tmp_path / "city" / "sla.yaml").exists() and done.targets == {}
    assert done.jurisdiction.sla.policies == ()
    assert "The export has no due dates" in (tmp_path / "city" / "DRAFT.md").read_text()


def test_a_later_run_adds_services_agencies_values_and_policies_and_keeps_edits(export, tmp_path, mapping_file):
    out = tmp_path / "city"
    draft(export, out, mapping_file)
    services = (out / "services.yaml").read_text().replace("  agency: PW\n", "  agency: PARKS  # moved by hand\n", 1)
    (out / "services.yaml").write_text(services)
    (out / "sla.yaml").write_text((out / "sla.yaml").read_text() + "- name: everything-else\n  goals:\n"
                                  "    resolve: {target: P10D}\n")
    newer = tmp_path / "newer.csv"
    write_export(newer, [
        row(1, "2026-04-01 10:00", "Pothole", kind="Sinkhole"),
        row(2, "2026-04-01 10:00", "Pothole", kind="Deep"),
        row(3, "2026-04-01 10:00", "Bulky waste", dept="Sanitation", due="2026-04-08 10:00", kind="Sofa"),
        row(4, "2026-04-02 10:00", "Bulky waste", dept="Sanitation", due="2026-04-09 10:00", kind="Fridge"),
        row(5, "2026-04-02 10:00", "Tree", dept="Parks Department", due="2026-04-12 10:00"),
    ])

    done = draft(newer, out, mapping_file)

    city = jurisdiction_loader.load_jurisdiction(out)
    assert done.changes.services == ["bulky-waste"] and done.changes.agencies == ["Sanitation"]
    assert done.changes.values == [("pothole", "kind", 1)]
    assert [v.name for v in city.services["pothole"].attributes[0].values] == ["Deep", "Shallow", "Sinkhole"]
    assert city.services["graffiti"].agency == "PARKS" and "# moved by hand" in (out / "services.yaml").read_text()
    assert done.changes.policies == ["bulky-waste", "tree"]
    names = [name for name, _, _ in city.sla.policies]
    assert names[-3:] == ["bulky-waste", "tree", "everything-else"], "new policies come before a catch-all"
    assert city.sla.by_name["bulky-waste"][0].target_days == 7
    assert "the new policies come before 'everything-else'" in (out / "DRAFT.md").read_text()

    again = draft(newer, out, mapping_file)
    assert again.changes.nothing


def test_a_list_in_flow_style_is_written_anew_and_the_run_says_so(export, tmp_path, mapping_file):
    out = tmp_path / "city"
    draft(export, out, mapping_file)
    text = (out / "jurisdiction.yaml").read_text()
    start = text.index("agencies:")
    end = text.index("\n\n", start)
    data = yaml.safe_load(text)
    flow = "agencies: {" + ", ".join(f"{k}: {{name: {v['name']}}}" for k, v in data["agencies"].items()) + "}"
    (out / "jurisdiction.yaml").write_text(text[:start] + flow + text[end:])
    newer = tmp_path / "newer.csv"
    write_export(newer, [row(1, "2026-04-01 10:00", "Pothole", dept="Roads")])

    done = draft(newer, out, mapping_file)

    assert done.changes.agencies == ["Roads"]
    assert any("jurisdiction.yaml was written anew from its data, without its comments" in n
               for n in done.changes.notes)
    assert "Roads" in jurisdiction_loader.load_jurisdiction(out).agency_names
    assert (out / "jurisdiction.yaml").read_text().startswith("# The jurisdiction:"), "the header comment stays"


def test_a_draft_that_would_not_load_leaves_the_directory_as_it_was(export, tmp_path, mapping_file):
    out = tmp_path / "city"
    draft(export, out, mapping_file)
    before = {p.name: p.read_text() for p in out.glob("*.yaml")}
    (out / "routing.yaml").write_text("rules:\n- {name: x, agency: NOBODY}\n")
    with pytest.raises(DraftError) as raised:
        draft(export, out, mapping_file)
    assert "agency 'NOBODY' is not in jurisdiction.yaml agencies" in str(raised.value)
    assert "jurisdiction check" in str(raised.value)
    assert {p.name: p.read_text() for p in out.glob("*.yaml") if p.name != "routing.yaml"} == {
        k: v for k, v in before.items() if k != "routing.yaml"}


@pytest.mark.parametrize("arguments, message", [
    (["--format", "nyc311"], "no such file"),
    (["--format", "no-such-format"], "no format 'no-such-format'"),
    (["--format", "nyc311", "--boundaries", "district"], "give LAYER=FILE"),
    (["--format", "nyc311", "--boundaries", "District=x.geojson"], "a layer name is lower case"),
])
def test_configuration_errors_are_one_message_and_exit_2(tmp_path, cli, arguments, message):
    export = tmp_path / "missing.csv" if message == "no such file" else tmp_path / "export.csv"
    write_export(tmp_path / "export.csv", [row(1, "2026-03-02 09:00", "Pothole")])
    code, printed, errors = cli("jurisdiction", "draft", export, "--out", tmp_path / "city", *arguments)
    assert code == 2 and message in errors and errors.startswith("civicflow jurisdiction draft: ")
    assert "Traceback" not in errors and printed == ""


def test_the_mapping_s_required_columns_must_be_in_the_export(tmp_path, cli, mapping_file):
    export = tmp_path / "export.csv"
    export.write_text("id,created,dept\n1,2026-03-02 09:00,PW\n")
    code, _, errors = cli("jurisdiction", "draft", export, "--mapping", mapping_file, "--out", tmp_path / "city")
    assert code == 2 and "the mapping's columns type are not in the export's header" in errors
    assert not (tmp_path / "city").exists()


def test_check_lists_every_problem_of_a_broken_directory_and_exits_2(export, tmp_path, mapping_file, cli):
    out = tmp_path / "city"
    draft(export, out, mapping_file)
    code, printed, errors = cli("jurisdiction", "check", out)
    assert (code, errors) == (0, "") and "7 services, 3 agencies, 0 boundary layers, 3 SLA policies" in printed
    (out / "routing.yaml").write_text("rules:\n- {name: x, agency: NOBODY, when: {service_code: [nothing]}}\n")
    config = (out / "jurisdiction.yaml").read_text()
    (out / "jurisdiction.yaml").write_text(config.replace("time_zone: Europe/Berlin", "time_zone: Europe/Atlantis"))

    code, printed, errors = cli("jurisdiction", "check", out)

    assert code == 2 and printed == "" and "Traceback" not in errors
    assert "(3 problems)" in errors
    for problem in ("routing.yaml: x: agency 'NOBODY' is not in jurisdiction.yaml agencies",
                    "routing.yaml: x: when.service_code: 'nothing' is unknown",
                    "jurisdiction.yaml: time_zone: 'Europe/Atlantis' is not an IANA time zone"):
        assert problem in errors


def test_check_of_a_directory_of_jurisdictions_and_of_nothing(export, tmp_path, mapping_file, cli):
    draft(export, tmp_path / "all" / "city", mapping_file)
    code, printed, _ = cli("jurisdiction", "check", tmp_path / "all")
    assert code == 0 and "ok: jurisdiction testcity" in printed
    code, printed, errors = cli("jurisdiction", "check", tmp_path / "nothing")
    assert code == 2 and "no such directory" in errors


def test_a_directory_with_catalog_files_but_no_jurisdiction_yaml_is_not_drafted_into(export, tmp_path,
                                                                                      mapping_file):
    (tmp_path / "city").mkdir()
    (tmp_path / "city" / "services.yaml").write_text("services: []\n")
    with pytest.raises(DraftError, match="has services.yaml but no jurisdiction.yaml"):
        draft(export, tmp_path / "city", mapping_file)
