"""Open311's statuses: GeoReport v2's open and closed, and FixMyStreet's statuses both ways."""

import pytest

from civicflow.streams.lifecycle import machine
from civicflow.streams.open311 import statuses
from civicflow.streams.sla.models import STATUSES


@pytest.mark.parametrize("status, expected", [("triage", "open"), ("open", "open"), ("acknowledged", "open"),
                                              ("in_progress", "open"), ("on_hold", "open"), ("resolved", "closed"),
                                              ("closed", "closed")])
def test_open311_knows_only_open_and_closed(status, expected):
    assert statuses.open311_status(status) == expected


def test_every_status_has_an_open311_status_a_fixmystreet_status_and_words():
    assert {statuses.open311_status(s) for s in STATUSES} == {"open", "closed"}
    assert set(statuses.FMS_STATUS) == set(STATUSES) == set(statuses.WORDS)


def test_every_fixmystreet_status_an_agency_posts_is_an_update_the_lifecycle_knows():
    assert set(statuses.FMS_UPDATE_STATUS.values()) <= set(machine.TRANSITIONS)
    # what the API shows an agency it can post back: FixMyStreet's closed statuses stay closed
    for status, fms in statuses.FMS_STATUS.items():
        if status in statuses.CLOSED:
            assert statuses.open311_status(statuses.FMS_UPDATE_STATUS[fms]) == "closed"
