"""Fixtures of the `civicflow jurisdiction` tests: the NYC files, a small export written by the test, the CLI."""

import csv
import json

import pytest

from civicflow.services.cli import service as cli_service
from tests.conftest import SHARED_DATA

NYC_2011 = SHARED_DATA / "nyc311" / "nyc311_sample_2011.csv"
NYC_2018 = SHARED_DATA / "nyc311" / "nyc311_2018-10-21.csv"
NYC_2026 = SHARED_DATA / "nyc311" / "nyc311_2026-08_week.csv"
NYC_GEO = SHARED_DATA / "geo" / "nyc"

# A city of the test's own: times in Berlin, agencies written as names, a group and one attribute column.
MAPPING = """\
jurisdiction_id: testcity
name: Test City
time_zone: Europe/Berlin
date_format: "%Y-%m-%d %H:%M"
columns:
  id: id
  created: created
  closed: closed
  due: due
  agency: dept
  agency_name: dept_name
  service: type
  group: category
attributes:
  kind: kind
agencies: {Public Works: PW, Parks Department: PARKS}
location:
  lat: lat
  long: lon
  address: [address]
"""
COLUMNS = ["id", "created", "closed", "due", "dept", "dept_name", "type", "category", "kind", "lat", "lon",
           "address"]
POINT = {"lat": "52.52", "lon": "13.40"}


def row(n: int, created: str, type_: str, *, due: str = "", dept: str = "Public Works", closed: str = "",
        kind: str = "", category: str = "", point: dict | None = POINT, address: str = "") -> dict:
    names = {"Public Works": "Department of Public Works", "Parks Department": "Parks and Gardens"}
    return {"id": str(n), "created": created, "closed": closed, "due": due, "dept": dept,
            "dept_name": names.get(dept, ""), "type": type_, "category": category, "kind": kind,
            **(point or {"lat": "", "lon": ""}), "address": address}


def write_export(path, rows: list[dict], columns: list[str] = COLUMNS) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def square(west: float, south: float, size: float) -> dict:
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def write_layer(path, features: list[tuple[dict, dict]]) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": properties, "geometry": geometry} for properties, geometry in features]}))


@pytest.fixture
def mapping_file(tmp_path):
    path = tmp_path / "testcity.yaml"
    path.write_text(MAPPING)
    return path


@pytest.fixture
def cli(capsys):
    """Run `civicflow ARGS` in this process: (exit code, stdout, stderr)."""
    def run(*args) -> tuple[int, str, str]:
        code = cli_service.main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err
    return run
