"""The SDK turns Open311-style dicts into submission records, or says every problem at once."""

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicflow.services.sdk import requests as sdk_requests
from civicflow.services.sdk.exceptions import SubmissionError
from civicflow.services.sdk.dedupe import SeenEvents


def test_minimal_request_gets_an_id_a_time_and_defaults():
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    record = sdk_requests.to_record({"service_code": "noise", "lat": "40.7", "long": -73.9,
                                     "attribute": {"descriptor": "loud-music", "n": 3}},
                                    default_jurisdiction="nyc", now=now)
    assert record["jurisdiction_id"] == "nyc" and record["channel"] == "other" and record["submitted_at"] == now
    assert record["lat"] == 40.7 and record["attributes"] == {"descriptor": ["loud-music"], "n": ["3"]}
    assert len(record["request_id"]) == 36
    assert sdk_requests.partition_key(record) == b"nyc:noise"


def test_times_are_normalised_to_utc_and_expected_datetime_is_the_due_date():
    record = sdk_requests.to_record({"service_code": "x", "jurisdiction_id": "nyc",
                                     "submitted_at": "2011-03-01T14:27:57-05:00",
                                     "expected_datetime": "2011-03-22T14:27:57-04:00"})
    assert record["submitted_at"] == datetime(2011, 3, 1, 19, 27, 57, tzinfo=timezone.utc)
    assert record["due_at"] == datetime(2011, 3, 22, 18, 27, 57, tzinfo=timezone.utc)


def test_every_shape_problem_is_reported_together():
    with pytest.raises(SubmissionError) as caught:
        sdk_requests.to_record({"lat": "north", "channel": "fax", "submitted_at": "2011-03-01 10:00", "colour": 1})
    text = str(caught.value)
    for part in ("service_code is required", "jurisdiction_id is required", "lat must be a number",
                 "channel 'fax'", "no UTC offset", "unknown field 'colour'"):
        assert part in text


@given(st.lists(st.sampled_from("abcdef"), max_size=200))
def test_seen_events_hands_each_id_over_once(ids):
    seen = SeenEvents(capacity=10_000)
    handed = [i for i in ids if seen.first_time(i)]
    assert sorted(handed) == sorted(set(ids))


def test_seen_events_forgets_the_oldest_beyond_capacity():
    seen = SeenEvents(capacity=2)
    assert [seen.first_time(i) for i in "abca"] == [True, True, True, True]
    assert len(seen) == 2
