"""Onboarding a city the project has never seen, as a new user would: an export in a shape of its own, a mapping
of about 20 lines, `jurisdiction draft`, `replay --check`, `replay`; the replay agrees with the city's own on-time
record for at least 99% of the rows with a due date.

The "city" is NYC's day of 2018 rewritten into another city's conventions: other column names, ISO times with an
offset, agency names instead of codes (translated by the mapping's agency table), lower-case channels, a
placeholder point for rows without coordinates, a service handled by two agencies, and closes recorded before
creation. Nothing of it is known to the shipped jurisdiction or mappings.
"""

import csv
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from civicflow.services.replay import agreement as replay_agreement
from civicflow.streams.settings import REPO_ROOT
from tests.conftest import SHARED_DATA

ZONE = ZoneInfo("America/New_York")
PLACEHOLDER = ("40.0", "-75.0")
AGENCY_NAMES = {"NYPD": "Police Department", "HPD": "Housing Preservation", "DSNY": "Sanitation Department",
                "DEP": "Environmental Protection", "DOT": "Transportation Department"}
MAPPING = """\
jurisdiction_id: springfield
name: Springfield
time_zone: America/New_York
columns:
  id: SR_NUMBER
  created: CREATED_DATE
  closed: CLOSED_DATE
  due: DUE_DATE
  agency: OWNER_DEPARTMENT
  service: SR_TYPE
  channel: ORIGIN
  description: [SR_DETAIL]
agencies: {police department: PD, housing preservation: HOUSING, sanitation department: SANITATION}
channels: {phone: phone, online: web, mobile: mobile}
location:
  lat: LATITUDE
  long: LONGITUDE
  address: [STREET_ADDRESS]
  placeholders: [[40.0, -75.0]]
"""


def _iso(text: str) -> str:
    return datetime.strptime(text, "%m/%d/%y %H:%M").replace(tzinfo=ZONE).isoformat() if text else ""


def _write_export(path):
    with (SHARED_DATA / "nyc311" / "nyc311_2018-10-21.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    columns = ["SR_NUMBER", "CREATED_DATE", "CLOSED_DATE", "DUE_DATE", "OWNER_DEPARTMENT", "SR_TYPE", "ORIGIN",
               "SR_DETAIL", "LATITUDE", "LONGITUDE", "STREET_ADDRESS"]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for n, row in enumerate(rows):
            closed = _iso(row["Closed Date"])
            if n % 97 == 0 and closed:  # a close recorded before creation, as some systems do
                created = datetime.fromisoformat(_iso(row["Created Date"]))
                closed = (created - timedelta(hours=1)).isoformat()
            agency = AGENCY_NAMES.get(row["Agency"], row["Agency Name"])
            if row["Complaint Type"] == "Noise - Residential" and n % 2:
                agency = "Housing Preservation"  # one service, two agencies
            lat, lon = (row["Latitude"], row["Longitude"]) if row["Latitude"] else PLACEHOLDER
            writer.writerow({"SR_NUMBER": f"SF-{row['Unique Key']}", "CREATED_DATE": _iso(row["Created Date"]),
                             "CLOSED_DATE": closed, "DUE_DATE": _iso(row["Due Date"]), "OWNER_DEPARTMENT": agency,
                             "SR_TYPE": row["Complaint Type"].title(), "ORIGIN": row["Open Data Channel Type"].lower(),
                             "SR_DETAIL": row["Descriptor"], "LATITUDE": lat, "LONGITUDE": lon,
                             "STREET_ADDRESS": row["Incident Address"]})
    return rows


def civicflow(*args, env=None):
    done = subprocess.run([sys.executable, "-m", "civicflow.services.cli", *map(str, args)], cwd=REPO_ROOT, text=True,
                          capture_output=True, timeout=600, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_an_unseen_city_onboards_from_its_export_and_agrees_with_its_own_record(tmp_path):
    export, mapping = tmp_path / "springfield.csv", tmp_path / "springfield.yaml"
    _write_export(export)
    mapping.write_text(MAPPING)
    assert len(MAPPING.splitlines()) <= 25
    jurisdictions = tmp_path / "jurisdictions"
    drafted = civicflow("jurisdiction", "draft", export, "--mapping", mapping, "--out", jurisdictions / "springfield")
    assert (jurisdictions / "springfield" / "DRAFT.md").exists() and drafted.stdout.strip()
    env = {"CIVICFLOW_JURISDICTIONS_DIR": str(jurisdictions), "CIVICFLOW_DATA_DIR": str(tmp_path / "data")}
    civicflow("jurisdiction", "check", jurisdictions / "springfield", env=env)
    checked = civicflow("replay", export, "--mapping", mapping, "--check", env=env)
    assert "ok: a replay can run" in checked.stdout
    out = tmp_path / "outcomes.jsonl"
    replayed = civicflow("replay", export, "--mapping", mapping, "--json", out, env=env)
    lines = [json.loads(line) for line in out.open()]
    assert len(lines) == 6765 and not [line for line in lines if line["status"] in ("rejected", "missing")]
    # The city's own record, row by row, from the export alone.
    with export.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    times = [datetime.fromisoformat(t) for r in rows for t in (r["CREATED_DATE"], r["CLOSED_DATE"]) if t]
    end = max(times)
    by_id = {line["external_id"]: line for line in lines}
    rows_with_due, agreeing = 0, 0
    for row in rows:
        if not row["DUE_DATE"]:
            continue
        due = datetime.fromisoformat(row["DUE_DATE"])
        closed = datetime.fromisoformat(row["CLOSED_DATE"]) if row["CLOSED_DATE"] else None
        closed = max(closed, datetime.fromisoformat(row["CREATED_DATE"])) if closed else None
        expected = replay_agreement.city_outcome(closed=closed, due=due, end=end)
        rows_with_due += 1
        agreeing += by_id[row["SR_NUMBER"]]["sla"].get("resolve", {}).get("outcome") == expected
    assert rows_with_due > 3000 and agreeing / rows_with_due >= 0.99, (agreeing, rows_with_due)
    assert "agreement with the city's own on-time record" in replayed.stdout
    noise = [line for line in lines if line["agency"] == "HOUSING"]
    assert noise, "a service handled by two agencies keeps each row's agency"
    assert any("closed_before_created" in line["warnings"] for line in lines)
    assert any("placeholder_point" in line["warnings"] for line in lines)
