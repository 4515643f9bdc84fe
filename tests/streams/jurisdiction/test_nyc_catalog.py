"""The NYC catalog covers the NYC 311 sample: every complaint type is a service of the agency that handled it,
routing sends each request there, and every located request that validates gets its districts."""

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from civicflow.services.demo import nyc311
from civicflow.services.sdk import requests as sdk_requests
from civicflow.streams.enrichment import districts as enrichment_districts
from civicflow.streams.enrichment import facts as enrichment_facts
from civicflow.streams.enrichment import priority as enrichment_priority
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.routing import rules as routing_rules
from civicflow.streams.settings import Settings
from civicflow.streams.validation import checks as validation_checks

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


@pytest.fixture(scope="module")
def nyc(jurisdictions):
    return jurisdictions["nyc"]


@pytest.fixture(scope="module")
def rows():
    rows = nyc311.read_rows(nyc311.SAMPLE)
    assert len(rows) > 900
    return rows


def submission(row, nyc) -> dict:
    """The row as the intake agent sees it, submitted live an hour ago (live intake refuses a submission older
    than its horizon): an Open311 request turned into a submission record."""
    return sdk_requests.to_record(nyc311.to_request(row, jurisdiction=nyc, submitted_at=NOW - timedelta(hours=1)),
                                  now=NOW)


def test_every_complaint_type_is_a_service_of_the_agency_that_handled_it(nyc, rows):
    by_name = {service.service_name: service for service in nyc.services.values()}
    wrong = set()
    for row in rows:
        service = by_name.get(row["Complaint Type"])
        if service is None or service.agency != row["Agency"]:
            wrong.add((row["Complaint Type"], row["Agency"], service and service.agency))
    assert wrong == set(), "(complaint type, agency of the row, agency in the catalog or None)"


def test_routing_sends_every_row_to_the_agency_that_handled_it(nyc, rows):
    wrong = []
    for row in rows:
        record = submission(row, nyc)
        districts = enrichment_districts.lookup(jurisdiction=nyc, submission=record)
        facts = enrichment_facts.of(service=nyc.service_for(record), submission=record, districts=districts)
        priority, _ = enrichment_priority.prioritize(jurisdiction=nyc, facts=facts)
        decision = routing_rules.route(jurisdiction=nyc, facts=dataclasses.replace(facts, priority=priority))
        if decision.agency != row["Agency"]:
            wrong.append((row["Unique Key"], row["Complaint Type"], row["Agency"], decision))
    assert wrong == []


def test_every_located_row_that_validates_gets_a_borough_and_a_community_district(jurisdictions, nyc, rows):
    located = [submission(row, nyc) for row in rows if row["Latitude"]]
    accepted = [record for record in located if not validation_checks.validate(
        submission=record, jurisdictions=jurisdictions, key=sdk_requests.partition_key(record), now=NOW)]
    assert len(accepted) >= 0.9 * len(located), "most located rows are valid requests"
    found = {(r["external_id"], r["lat"], r["long"]): enrichment_districts.lookup(jurisdiction=nyc, submission=r)
             for r in accepted}
    assert {row: districts for row, districts in found.items()
            if set(districts) != {"borough", "community_district"}} == {}
