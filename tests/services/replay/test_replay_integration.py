"""Acceptance: replaying the NYC 311 sample, a request with both dates is breached exactly when it closed
after its due date, one still open at the end of the data and past its due date is breached, and no request
is breached twice. Checked request by request, on the real broker."""

import json

import pytest

from services.demo import nyc311
from services.replay import mapping as replay_mapping
from services.replay import rows as replay_rows
from services.replay import service as replay_service
from streams.jurisdiction import loader as jurisdiction_loader

pytestmark = pytest.mark.integration


def test_the_nyc_sample_replays_to_the_outcomes_its_dates_say(platform_settings, tmp_path):
    settings = platform_settings()
    mapping = replay_mapping.load(format_name="nyc311")
    reader = replay_rows.RowReader(mapping=mapping,
                                   jurisdiction=jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)["nyc"])
    done = replay_service.run(settings=settings, path=nyc311.SAMPLE, mapping=mapping,
                              json_path=tmp_path / "replay.jsonl", progress=False)
    rows = nyc311.read_rows()
    lines = {line["external_id"]: line for line in map(json.loads, (tmp_path / "replay.jsonl").open())}
    assert len(lines) == len(rows) == done.figures["requests"]
    assert set(lines[rows[0]["Unique Key"]]) == {"external_id", "request_id", "agency", "status", "sla"}
    end = max(reader.time(r["Closed Date"]) or reader.time(r["Created Date"]) for r in rows)
    checked = 0
    for row in rows:
        line, due, closed = lines[row["Unique Key"]], reader.time(row["Due Date"]), reader.time(row["Closed Date"])
        if line["status"] == "rejected" or due is None:
            continue
        expected = ("breached" if closed > due else "met") if closed else ("breached" if due < end else "open")
        resolve = line["sla"]["resolve"]
        assert (resolve["outcome"], resolve["deadline"]) == (expected, due.isoformat()), row["Unique Key"]
        assert line["status"] == ("closed" if closed else "open") and line["agency"] == row["Agency"]
        checked += 1
    assert checked >= 970
    assert all(count == 1 for o in done.outcomes.values() for count in o.breach_events.values())
    rejected = [line for line in lines.values() if line["status"] == "rejected"]
    assert len(rejected) == 6 and all(line["sla"] == {} for line in rejected)
