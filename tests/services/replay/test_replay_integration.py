"""Acceptance: replaying NYC's own 311 files imports every row, and the resolve outcome of each request agrees
with the city's own record (closed after due ⇒ breached; never closed and due before the file's end ⇒ breached;
else met or open). Checked request by request, on the real broker."""

import json

import pytest

from civicflow.services.demo import nyc311
from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.services.replay import service as replay_service
from civicflow.services.replay.exceptions import ReplayError
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.integration


def test_the_nyc_sample_replays_to_the_outcomes_its_dates_say(platform_settings, tmp_path):
    settings = platform_settings()
    mapping = replay_mapping.load(format_name="nyc311")
    reader = replay_rows.RowReader(mapping=mapping,
                                   jurisdiction=jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)["nyc"])
    done = replay_service.run(settings=settings, path=nyc311.SAMPLE, mapping=mapping,
                              json_path=tmp_path / "replay.jsonl", progress=False,
                              read_model=str(tmp_path / "replay.sqlite3"))
    rows = nyc311.read_rows()
    lines = {line["external_id"]: line for line in map(json.loads, (tmp_path / "replay.jsonl").open())}
    assert len(lines) == len(rows) == done.figures["requests"]
    assert set(lines[rows[0]["Unique Key"]]) == {"external_id", "request_id", "agency", "status", "sla", "warnings"}
    end = max(reader.time(r["Closed Date"]) or reader.time(r["Created Date"]) for r in rows)
    checked = 0
    for row in rows:
        line, due, closed = lines[row["Unique Key"]], reader.time(row["Due Date"]), reader.time(row["Closed Date"])
        assert line["status"] != "rejected", line
        if due is None:
            continue
        expected = ("breached" if closed > due else "met") if closed else ("breached" if due < end else "open")
        resolve = line["sla"]["resolve"]
        assert (resolve["outcome"], resolve["deadline"]) == (expected, due.isoformat()), row["Unique Key"]
        assert line["status"] == ("closed" if closed else "open") and line["agency"] == row["Agency"]
        checked += 1
    assert checked == sum(1 for r in rows if r["Due Date"]) >= 980
    assert all(count == 1 for o in done.outcomes.values() for count in o.breach_events.values())
    # The six rows without any location that live intake refuses are imported with the warning kept on them.
    warned = [line for line in lines.values() if "location_missing" in line["warnings"]]
    assert len(warned) == 6 and all(line["status"] in ("open", "closed") for line in warned)
    assert done.agreement.rows == checked and done.agreement.share == 1.0
    assert done.read_model_url.endswith("replay.sqlite3") and (tmp_path / "replay.sqlite3").stat().st_size > 0


def test_a_day_of_2018_with_services_outside_the_catalog_agrees_with_the_citys_record(platform_settings, tmp_path):
    path = SHARED_DATA / "nyc311" / "nyc311_2018-10-21.csv"
    done = replay_service.run(settings=platform_settings(), path=path, mapping=replay_mapping.load(format_name="nyc311"),
                              json_path=tmp_path / "out.jsonl", progress=False, read_model=False)
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").open()]
    assert len(lines) == sum(1 for _ in replay_rows.read(path)) == 6765
    assert not [line for line in lines if line["status"] in ("rejected", "missing")]
    assert done.agreement.rows == 3037 and done.agreement.share >= 0.999, done.agreement.disagreements


def test_an_export_without_readable_rows_is_an_error_not_an_empty_replay(platform_settings, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("Unique Key,Created Date,Agency,Complaint Type\n,03/01/2011 02:27:57 PM,NYPD,Noise\n"
                    "7,yesterday,NYPD,Noise\n")
    with pytest.raises(ReplayError, match="no row could be read") as caught:
        replay_service.run(settings=platform_settings(), path=path, mapping=replay_mapping.load(format_name="nyc311"),
                           progress=False, read_model=False)
    assert "line 2" in str(caught.value)
