"""A transfer's work order for the new agency, from what the lifecycle state keeps: the request's routed record
re-addressed, without contact details, whether the state was just opened or recovered from its changelog, and
from states a worker of the previous version wrote (without the details)."""

import json
from datetime import timedelta

from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.lifecycle import codec as lifecycle_codec
from civicflow.streams.lifecycle import transfers as lifecycle_transfers
from civicflow.streams.lifecycle.models import RequestState
from tests import factories
from tests.streams.lifecycle.test_processor import (
    CODEC, HOUR, T0, T0_MS, TOPICS, Clock, events, processor, routed, update)

DOT_WORK = TOPICS.work(jurisdiction_id="nyc", agency="DOT")


def detailed_routed(**request) -> dict:
    """A routed noise complaint with everything an agency reads, and a citizen's contact details."""
    return factories.routed(
        routed_at=T0,
        request={"submitted_at": T0, "address_string": "1 TIMES SQUARE, NEW YORK", "address_id": "1009950001",
                 "lat": 40.7580, "long": -73.9855, "description": "Loud music all night",
                 "attributes": {"descriptor": ["loud-music-party"]}, "media_url": "https://example.org/p.jpg",
                 "due_at": T0 + timedelta(days=3), "language": "es", **request},
        contact={**factories.NO_CONTACT, "email": "ana@example.org", "first_name": "Ana"},
        enrichment={"priority": "high", "priority_rule": "night-noise", "duplicate_of": "r-0"},
        warnings=[{"code": "placeholder_point", "message": "moved", "field": "lat"}])


def as_read(record: dict) -> dict:
    """The record as a consumer of the routed or work topic decodes it."""
    return CODEC.decode(contract_schemas.ROUTED, CODEC.encode(contract_schemas.ROUTED, record))


def work_orders(result) -> list[dict]:
    return [CODEC.decode(contract_schemas.ROUTED, e.value) for e in result.events if e.topic == DOT_WORK]


def transferred(p, request_id="r-1"):
    return p.on_update(update("transferred", T0_MS + HOUR, request_id=request_id, to_agency="DOT"), partition=0)


def test_a_transfer_hands_the_request_over(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(routed(), partition=0, offset=11)
    result = p.on_update(update("transferred", T0_MS + 60_000, to_agency="DOT"), partition=0)
    work = [CODEC.decode(contract_schemas.ROUTED, e.value) for e in result.events
            if e.topic == TOPICS.work(jurisdiction_id="nyc", agency="DOT")]
    assert [w["routing"]["agency"] for w in work] == ["DOT"]
    assert events(result)[-1]["agency"] == "DOT"
    refused = events(p.on_update(update("acknowledged", T0_MS + 120_000), partition=0), TOPICS.rejected)
    assert refused[0]["reasons"][0]["code"] == "not_owner"


def test_the_work_order_is_the_routed_record_readdressed_without_contact(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock)
    record = detailed_routed()
    p.on_routed(record, partition=0, offset=11)
    clock.now = T0_MS + 2 * HOUR
    result = transferred(p)
    [work] = work_orders(result)
    expected = as_read(record)
    assert work["request"] == expected["request"]
    assert work["enrichment"] == expected["enrichment"] and work["warnings"] == expected["warnings"]
    assert work["contact"] is None and work["request_id"] == "r-1" and work["jurisdiction_id"] == "nyc"
    assert work["routing"] == {"outcome": "routed", "agency": "DOT", "queue": "transfers", "rule": "transfer",
                               "topic": DOT_WORK}
    assert work["routed_at"] == T0 + timedelta(hours=2), "when the transfer was made: the processor's clock"
    assert "transferred_without_details" not in result.counts


def test_the_work_order_is_the_same_after_the_state_went_through_its_changelog(jurisdictions):
    record = detailed_routed()
    changelog = processor(jurisdictions).on_routed(record, partition=0, offset=0).state
    recovered = {json.loads(e.key): json.loads(e.value) for e in changelog}
    fresh = processor(jurisdictions)
    fresh.on_routed(record, partition=0, offset=0)
    q = processor(jurisdictions, store=recovered)
    q.rebuild({0})
    assert work_orders(transferred(q)) == work_orders(transferred(fresh))


def test_a_retried_transfer_sends_no_second_work_order(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(detailed_routed(), partition=0, offset=0)
    assert len(work_orders(transferred(p))) == 1
    assert work_orders(transferred(p)) == []


def test_details_keep_only_what_the_state_lacks_and_leave_out_trailing_nulls():
    plain = factories.routed()
    assert json.loads(lifecycle_transfers.details(plain)) == ["Noise - Residential", 40.7, -73.9, None, None, {},
                                                              None, None, "default"]
    assert len(lifecycle_transfers.details(detailed_routed())) < 300


# ---- states written by the previous version: the routed record's (partition, offset) where details are now ----

def previous_version_list(state: RequestState) -> list:
    """The list a worker of the previous version stored: 22 values, (partition, offset) at position 17."""
    values = state.as_list()[:-1]
    values[17] = [0, 11]
    return values


def test_a_state_stored_by_the_previous_version_reads_the_same_without_details(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(detailed_routed(), partition=0, offset=11)
    state = p.store["r-1"]
    old = previous_version_list(state)
    read = lifecycle_codec.loads(json.dumps(old).encode())
    assert read.work is None
    assert read.as_list()[:17] == state.as_list()[:17] and read.as_list()[18:-1] == state.as_list()[18:-1]
    assert read.as_list()[17] is None, "the retired position is written empty"
    stored = lifecycle_codec.stored(json.dumps(old).encode())
    assert (stored.partition, stored.agency, stored.status, set(stored.goals)) == (0, "NYPD", "open",
                                                                                   {"acknowledge", "resolve"})


def test_a_transfer_of_a_state_stored_by_the_previous_version_sends_what_the_state_holds(jurisdictions):
    p = processor(jurisdictions)
    p.on_routed(detailed_routed(), partition=0, offset=11)
    q = processor(jurisdictions, store={"r-1": previous_version_list(p.store["r-1"])})
    q.rebuild({0})
    result = transferred(q)
    [work] = work_orders(result)
    assert result.counts["transferred_without_details"] == 1
    assert work["request"]["service_name"] == "Noise - Residential", "from the catalog"
    assert work["request"]["description"] is None and work["request"]["lat"] is None
    assert work["request"]["due_at"] == T0 + timedelta(days=3) and work["request"]["language"] == "es"
    assert work["enrichment"]["priority"] == "high" and work["routing"]["agency"] == "DOT"



def test_details_read_from_the_changelog_are_kept_as_the_same_bytes():
    kept = lifecycle_transfers.details(detailed_routed())
    state = RequestState.from_list(json.loads(json.dumps(RequestState(work=json.loads(kept)).as_list())))
    assert state.work == kept and isinstance(state.work, bytes)
