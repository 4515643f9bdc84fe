"""Mappings turn any city's export into submissions and updates: NYC's is one mapping, not special code."""

from datetime import datetime, timezone

import pytest
import yaml

from services.demo import nyc311
from services.replay import mapping as replay_mapping
from services.replay import rows as replay_rows
from services.replay import service as replay_service
from services.replay.exceptions import MappingError
from services.sdk import requests as sdk_requests
from streams.jurisdiction import loader as jurisdiction_loader
from streams.settings import Settings

OTHER_CITY = {
    "jurisdiction_id": "nyc", "time_zone": "America/Chicago", "date_format": "%Y-%m-%dT%H:%M:%S",
    "columns": {"id": "SR_NUMBER", "created": "CREATED_DATE", "closed": "CLOSED_DATE", "agency": "OWNER",
                "service": "SR_TYPE", "status": "STATUS", "channel": "ORIGIN", "description": ["NOTES"]},
    "services": {"Pothole in Street": "street-sign-missing"},
    "attributes": {"descriptor": "DETAIL"},
    "channels": {"INTERNET": "web", "PHONE CALL": "phone"},
    "location": {"lat": "LATITUDE", "long": "LONGITUDE", "address": ["STREET_ADDRESS"], "city": ["CITY"]},
    "open_statuses": ["Open"],
}
ROW = {"SR_NUMBER": "SR19-01", "CREATED_DATE": "2019-01-07T08:30:00", "CLOSED_DATE": "2019-01-08T17:00:00",
       "OWNER": "DOT", "SR_TYPE": "Pothole in Street", "STATUS": "Completed", "ORIGIN": "INTERNET",
       "NOTES": "deep hole", "DETAIL": "Stop", "LATITUDE": "40.7580", "LONGITUDE": "-73.9855",
       "STREET_ADDRESS": "1 Times Sq", "CITY": "New York"}


@pytest.fixture(scope="module")
def nyc():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)["nyc"]


@pytest.fixture
def reader(nyc, tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(OTHER_CITY))
    return replay_rows.RowReader(mapping=replay_mapping.load(path=path), jurisdiction=nyc)


def test_another_citys_columns_times_and_values_map_through_its_file(reader):
    request = reader.request(ROW)
    assert request["submitted_at"] == "2019-01-07T14:30:00+00:00", "Chicago local time → UTC"
    assert request["service_code"] == "street-sign-missing" and request["channel"] == "web"
    assert request["attributes"] == {"descriptor": "stop"}, "the catalog's value name, any case"
    assert request["address_string"] == "1 Times Sq, New York" and request["external_id"] == "SR19-01"
    assert sdk_requests.to_record(request)["request_id"] == reader.request_id(ROW)
    assert [(e.kind, e.at.hour) for e in reader.events(ROW)] == [("submission", 14), ("resolved", 23),
                                                                 ("closed", 23)]
    update = reader.update(ROW, kind="closed", at=datetime(2019, 1, 8, 23, tzinfo=timezone.utc))
    assert (update["agency"], update["status"], update["external_id"]) == ("DOT", "closed", "SR19-01")
    assert not reader.still_open(ROW) and reader.still_open({**ROW, "CLOSED_DATE": "", "STATUS": "Open"})


def test_ids_are_stable_across_replays_and_distinct_per_row(reader):
    assert reader.request_id(ROW) == reader.request_id(dict(ROW))
    assert reader.request_id(ROW) != reader.request_id({**ROW, "SR_NUMBER": "SR19-02"})


def test_events_come_in_time_order_and_unreadable_rows_are_reported(reader):
    late = {**ROW, "SR_NUMBER": "SR19-00", "CREATED_DATE": "2019-01-08T09:00:00", "CLOSED_DATE": ""}
    broken = {**ROW, "SR_NUMBER": "SR19-03", "CREATED_DATE": "yesterday"}
    events, skipped = replay_service.plan(reader=reader, rows=[ROW, late, broken])
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert [(e.kind, e.row["SR_NUMBER"]) for e in events] == [("submission", "SR19-01"), ("submission", "SR19-00"),
                                                              ("resolved", "SR19-01"), ("closed", "SR19-01")]
    assert skipped and skipped[0][0] == 4 and "yesterday" in skipped[0][1]


def test_a_repeated_export_gets_new_ids_and_later_times(reader):
    events, _ = replay_service.plan(reader=reader, rows=[ROW], repeat=3, spacing_days=10)
    assert len({e.request_id for e in events}) == 3 and len(events) == 9
    assert events[-1].at.year == 2019 and events[-1].at.month == 1 and events[-1].at.day == 28


def test_the_nyc_format_is_a_mapping_file(nyc):
    mapping = replay_mapping.load(format_name="nyc311")
    reader = replay_rows.RowReader(mapping=mapping, jurisdiction=nyc)
    row = nyc311.read_rows()[1]
    request = reader.request(row)
    assert request["service_code"] == "street-sign-dangling" and request["submitted_at"].startswith("2011-03-01T15:41")
    assert request["due_at"] == "2011-03-15T21:32:23+00:00"


def test_a_bad_mapping_names_its_problems(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**OTHER_CITY, "columns": {"id": "X"}, "colour": "red"}))
    with pytest.raises(MappingError) as caught:
        replay_mapping.load(path=path)
    for part in ("columns.created", "columns.agency", "colour"):
        assert part in str(caught.value)
    with pytest.raises(MappingError, match="nyc311"):
        replay_mapping.load(format_name="atlantis")
