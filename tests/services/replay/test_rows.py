"""Mappings turn any city's export into submissions and updates: NYC's is one mapping, not special code."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import yaml

from civicflow.services.demo import nyc311
from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.services.replay import service as replay_service
from civicflow.services.replay.exceptions import MappingError
from civicflow.services.sdk import requests as sdk_requests
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import Settings

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


# ---- any city's export: formats, tables, placeholders, districts, anomalies ---------------------------------

def _reader_for(nyc, tmp_path, **changes):
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump({**OTHER_CITY, **changes}))
    return replay_rows.RowReader(mapping=replay_mapping.load(path=path), jurisdiction=nyc)


@pytest.mark.parametrize("text, expected", [
    ("03/01/2011 02:27:57 PM", "2011-03-01T19:27:57+00:00"),
    ("10/21/18 0:00", "2018-10-21T04:00:00+00:00"),
    ("2026-08-01 00:00:14.000000", "2026-08-01T04:00:14+00:00"),
    ("2026-08-01T00:04:08.000", "2026-08-01T04:04:08+00:00"),
    ("2026-08-01T00:04:08+02:00", "2026-07-31T22:04:08+00:00"),
])
def test_every_date_format_of_the_nyc_files_is_read_as_new_york_time(nyc, text, expected):
    reader = replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311"), jurisdiction=nyc)
    assert reader.time(text).isoformat() == expected


def test_a_time_read_again_is_remembered_within_a_bound_and_an_unreadable_one_never(nyc, monkeypatch):
    read = []
    real = replay_rows.RowReader._read_time
    monkeypatch.setattr(replay_rows.RowReader, "_read_time", lambda self, text: read.append(text) or real(self, text))
    monkeypatch.setattr(replay_rows, "TIMES_KEPT", 2)
    reader = replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311"), jurisdiction=nyc)
    texts = ["03/01/2011 02:27:57 PM", " 03/01/2011 02:27:57 PM ", "10/21/18 0:00", "2026-08-01 00:00:14.000000"]
    first = [reader.time(text) for text in texts]
    assert read == [texts[0], texts[2], texts[3]]  # the same text, spaced, is the same time
    assert [reader.time(text) for text in texts] == first
    assert read[3:] == [texts[0], texts[2], texts[3]]  # at the bound the kept times are dropped, then kept anew
    for _ in range(2):
        with pytest.raises(ValueError):
            reader.time("yesterday")
    assert read[-2:] == ["yesterday", "yesterday"]


def test_a_time_no_format_reads_says_which_formats_were_tried(nyc):
    reader = replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311"), jurisdiction=nyc)
    with pytest.raises(ValueError, match="%m/%d/%Y"):
        reader.time("yesterday")


def test_agency_channel_and_service_keys_match_in_any_case(nyc, tmp_path):
    reader = _reader_for(nyc, tmp_path, agencies={"Streets and Sanitation": "DSNY"},
                         channels={"phone call": "phone"}, services={"POTHOLE IN STREET": "street-sign-missing"})
    row = {**ROW, "OWNER": " streets AND sanitation ", "ORIGIN": "Phone Call", "SR_TYPE": "pothole in street"}
    request = reader.request(row)
    assert request["channel"] == "phone" and request["service_code"] == "street-sign-missing"
    assert request["import_record"]["agency"] == "DSNY"
    assert reader.update(row, kind="closed", at=datetime(2019, 1, 8, tzinfo=timezone.utc))["agency"] == "DSNY"


def test_an_unknown_service_gets_a_stable_code_and_keeps_its_text(reader):
    request = reader.request({**ROW, "SR_TYPE": "Noise - Street/Sidewalk"})
    assert request["service_code"] == "noise-street-sidewalk" == replay_rows.service_slug("Noise - Street/Sidewalk")
    assert request["import_record"]["service_name"] == "Noise - Street/Sidewalk"


def test_placeholder_points_are_no_points(nyc, tmp_path):
    reader = _reader_for(nyc, tmp_path, location={**OTHER_CITY["location"], "placeholders": [[39.0, -77.0]]})
    for lat, lon in (("39", "-77"), ("0", "0"), ("0.0", "0.000")):
        request = reader.request({**ROW, "LATITUDE": lat, "LONGITUDE": lon})
        assert "lat" not in request
        assert [w["code"] for w in request["import_record"]["warnings"]] == ["placeholder_point"]


def test_a_close_before_creation_is_a_close_at_creation_with_a_warning(reader):
    row = {**ROW, "CLOSED_DATE": "2019-01-06T08:30:00"}
    events = reader.events(row)
    assert events[1].at == events[0].at and [e.kind for e in events] == ["submission", "resolved", "closed"]
    assert "closed_before_created" in [w["code"] for w in reader.request(row)["import_record"]["warnings"]]


def test_an_unreadable_close_imports_the_row_as_not_closed(reader):
    row = {**ROW, "CLOSED_DATE": "soon"}
    assert [e.kind for e in reader.events(row)] == ["submission"]
    assert "closed_unreadable" in [w["code"] for w in reader.request(row)["import_record"]["warnings"]]


@pytest.mark.parametrize("change, reason", [({"SR_NUMBER": " "}, "no SR_NUMBER"),
                                            ({"CREATED_DATE": ""}, "no CREATED_DATE"),
                                            ({"CREATED_DATE": "lunchtime"}, "CREATED_DATE")])
def test_rows_without_id_or_creation_cannot_be_read_and_are_listed_with_their_line(reader, change, reason):
    events, skipped = replay_service.plan(reader=reader, rows=[(7, ROW), (8, {**ROW, **change})])
    assert len(events) == 3 and skipped[0][0] == 8 and reason in skipped[0][1]


def test_district_columns_name_the_layers_districts(nyc):
    reader = replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311"), jurisdiction=nyc)
    row = {**nyc311.read_rows()[0], "Latitude": "", "Longitude": "", "Borough": "STATEN ISLAND",
           "Community Board": "02 STATEN ISLAND"}
    assert reader.recorded_districts(row) == ({"borough": "Staten Island", "community_district": "502"}, [])
    unspecified = {**row, "Borough": "Unspecified", "Community Board": "0 Unspecified"}
    assert reader.recorded_districts(unspecified) == ({}, [])
    districts, warnings = reader.recorded_districts({**row, "Community Board": "99 ATLANTIS"})
    assert "community_district" not in districts and warnings[0]["code"] == "district_unknown"


def test_line_numbers_count_from_the_first_row_and_a_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("\ufeffid,note\n1,\"two\nlines\"\n2,x\n", encoding="utf-8")
    assert [(line, row["id"]) for line, row in replay_rows.read_numbered(path)] == [(2, "1"), (4, "2")]
    assert replay_rows.header(path) == ["id", "note"]


def test_check_lists_missing_columns_and_what_matches_nothing(nyc, tmp_path):
    from civicflow.services.replay import check as replay_check
    from civicflow.services.replay import views as replay_views

    reader = _reader_for(nyc, tmp_path)
    path = tmp_path / "export.csv"
    columns = [c for c in ROW if c != "NOTES"]
    lines = [",".join(columns), ",".join(ROW[c] for c in columns),
             ",".join({**ROW, "SR_TYPE": "Chalk Drawing", "ORIGIN": "FAX", "OWNER": "PARKS", "CLOSED_DATE": "2019-01-01T00:00:00",
                       "LATITUDE": "0", "LONGITUDE": "0", "SR_NUMBER": "SR2"}[c] for c in columns),
             ",".join({**ROW, "SR_NUMBER": ""}[c] for c in columns)]
    path.write_text("\n".join(lines) + "\n")
    report = replay_check.check(reader=reader, path=path)
    assert report.missing_columns == ["NOTES"] and not report.ok
    assert report.unmatched_services == {"Chalk Drawing": 1} and report.unmatched_channels == {"FAX": 1}
    assert report.unknown_agencies == {"PARKS": 1} and report.unreadable == [(4, "no SR_NUMBER")]
    assert report.anomalies["closed_before_created"] == 1 and report.anomalies["placeholder_point"] == 1
    text = replay_views.check(report)
    assert "MISSING COLUMNS" in text and "NOTES" in text and "NOT OK" in text


@given(moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31)).map(
    lambda d: d.replace(microsecond=0, fold=0)),  # the text written carries no fold: the first reading
    fmt=st.sampled_from(["%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.000"]))
@settings(max_examples=300, deadline=None)
def test_a_local_time_written_in_any_of_the_formats_reads_back_as_the_same_instant(nyc_reader, moment, fmt):
    """Across DST changes too: an ambiguous or missing wall time resolves as zoneinfo's fold=0 does."""
    from zoneinfo import ZoneInfo

    expected = moment.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(timezone.utc)
    assert nyc_reader.time(moment.strftime(fmt)) == expected


@pytest.fixture(scope="module")
def nyc_reader(nyc):
    return replay_rows.RowReader(mapping=replay_mapping.load(format_name="nyc311"), jurisdiction=nyc)


@given(closes=st.lists(st.integers(min_value=-10_000, max_value=10_000), min_size=1, max_size=30))
@settings(max_examples=100, deadline=None)
def test_summary_times_are_never_negative_and_say_what_they_left_out(closes):
    from collections import Counter

    from civicflow.services.replay import summary as replay_summary

    start = datetime(2020, 1, 1, tzinfo=timezone.utc)
    found = {}
    for n, minutes in enumerate(closes):
        outcome = replay_summary.RequestOutcome(str(n), f"r{n}", status="closed", agency="A", service_code="s")
        outcome.submitted_at, outcome.closed_at = start, start + timedelta(minutes=minutes)
        found[outcome.request_id] = outcome
    figures = replay_summary.totals(found, update_rejections=Counter())
    assert figures["median_hours_to_close"] is None or figures["median_hours_to_close"] >= 0
    assert figures["left_out_of_times"] == sum(1 for m in closes if m < 0)


@pytest.mark.parametrize("text", ["01/07/2019 08:30 AM", "01/07/2019 08:30", "1/7/2019 8:30:00 AM", "2019/01/07 08:30"])
def test_common_us_forms_are_read_when_the_mappings_formats_do_not_match(reader, text):
    assert reader.time(text) == reader.time("2019-01-07T08:30:00")


def test_a_what_if_replay_runs_on_a_copy_of_the_jurisdictions_with_the_other_sla_file(tmp_path):
    from civicflow.streams.sla import policy as sla_policy

    other = tmp_path / "lenient.yaml"
    other.write_text("policies:\n  - name: everything\n    goals:\n      resolve: {target: P30D}\n")
    settings = Settings()
    replay = replay_service.replay_settings(settings, sla_path=other, workdir=tmp_path / "run")
    assert replay.jurisdictions_dir != settings.jurisdictions_dir
    nyc = jurisdiction_loader.load_jurisdictions(replay.jurisdictions_dir)["nyc"]
    assert [name for name, _, _ in nyc.sla.policies] == ["everything"]
    assert nyc.sla.goals_named("everything")[0].name == sla_policy.RESOLVE
    assert replay_service.replay_settings(settings, sla_path=None, workdir=tmp_path) is settings
    with pytest.raises(replay_service.ReplayError, match="no such file"):
        replay_service.replay_settings(settings, sla_path=tmp_path / "missing.yaml", workdir=tmp_path)
