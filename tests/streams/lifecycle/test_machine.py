"""The request state machine: which agency updates are legal from which status, and where they lead."""

import itertools

import pytest

from civicflow.streams.lifecycle import machine
from civicflow.streams.sla.models import STATUSES
from tests import factories

AGENCIES = {"DOT", "NYPD"}
ACTIVE = {"open", "acknowledged", "in_progress", "on_hold"}

# update status -> (statuses it may come from, status it leads to): the specification, written out.
LEGAL = {
    "acknowledged": ({"open"}, "acknowledged"),
    "in_progress": ({"open", "acknowledged", "on_hold"}, "in_progress"),
    "on_hold": ({"open", "acknowledged", "in_progress"}, "on_hold"),
    "resolved": (ACTIVE, "resolved"),
    "closed": (ACTIVE | {"resolved", "triage"}, "closed"),
    "reopened": ({"resolved", "closed"}, "open"),
    "transferred": (ACTIVE | {"triage"}, "open"),
    "duplicate": (ACTIVE | {"triage"}, "closed"),
}
PAIRS = list(itertools.product(STATUSES, LEGAL))


def update(status: str, agency: str = "DOT", **fields) -> dict:
    return factories.update(status, update_id="u1", request_id="r1", agency=agency, **fields)


def owner_of(status: str) -> str | None:
    """A request in triage has no agency: the TRIAGE desk speaks for it."""
    return None if status == "triage" else "DOT"


def complete_update(status: str, update_status: str) -> dict:
    """An update the owner sends, with the fields its kind needs."""
    sender = machine.TRIAGE_AGENCY if status == "triage" else "DOT"
    return update(update_status, agency=sender, to_agency="NYPD", duplicate_of="r0")


def test_the_transition_table_is_the_specification():
    assert {name: (set(sources), target) for name, (sources, target) in machine.TRANSITIONS.items()} == LEGAL


@pytest.mark.parametrize("status, update_status", PAIRS, ids=[f"{s}->{u}" for s, u in PAIRS])
def test_every_status_and_update(status, update_status):
    sources, target = LEGAL[update_status]
    refusal = machine.check(status=status, owner=owner_of(status), update=complete_update(status, update_status),
                            agencies=AGENCIES)
    if status in sources:
        assert refusal is None
        assert machine.next_status(update_status) == target
    else:
        assert refusal is not None and (refusal.code, refusal.field) == ("illegal_transition", "status")
        assert f"{status} cannot become {update_status}" in refusal.message


def test_a_closed_request_must_be_reopened_first():
    refusal = machine.check(status="closed", owner="DOT", update=update("in_progress"), agencies=AGENCIES)
    assert refusal.code == "illegal_transition" and "reopening" in refusal.message
    refusal = machine.check(status="resolved", owner="DOT", update=update("acknowledged"), agencies=AGENCIES)
    assert "reopening" in refusal.message
    refusal = machine.check(status="in_progress", owner="DOT", update=update("acknowledged"), agencies=AGENCIES)
    assert refusal.code == "illegal_transition" and "reopening" not in refusal.message


@pytest.mark.parametrize("status, owner, sender", [
    ("open", "DOT", "NYPD"),
    ("open", "DOT", "TRIAGE"),
    ("triage", None, "DOT"),
    ("closed", "DOT", "NYPD"),
])
def test_only_the_owner_may_update(status, owner, sender):
    refusal = machine.check(status=status, owner=owner, update=update("closed", agency=sender), agencies=AGENCIES)
    assert (refusal.code, refusal.field) == ("not_owner", "agency")
    assert sender in refusal.message and (owner or "TRIAGE") in refusal.message


def test_ownership_is_checked_before_the_transition():
    refusal = machine.check(status="closed", owner="DOT", update=update("acknowledged", agency="NYPD"),
                            agencies=AGENCIES)
    assert refusal.code == "not_owner"


def test_triage_may_close_transfer_or_mark_a_duplicate():
    for update_status, fields in [("closed", {}), ("transferred", {"to_agency": "DOT"}),
                                  ("duplicate", {"duplicate_of": "r0"})]:
        assert machine.check(status="triage", owner=None, update=update(update_status, agency="TRIAGE", **fields),
                             agencies=AGENCIES) is None


@pytest.mark.parametrize("to_agency, code", [
    (None, "to_agency_missing"),
    ("", "to_agency_missing"),
    ("DOT", "to_agency_invalid"),      # the owner itself
    ("PARKS", "to_agency_invalid"),    # not an agency of the jurisdiction
    ("TRIAGE", "to_agency_invalid"),
    ("NYPD", None),
])
@pytest.mark.parametrize("agencies", [AGENCIES, {"DOT": {"name": "Transportation"}, "NYPD": {"name": "Police"}}],
                         ids=["set", "dict"])
def test_a_transfer_names_another_agency_of_the_jurisdiction(to_agency, code, agencies):
    refusal = machine.check(status="in_progress", owner="DOT", update=update("transferred", to_agency=to_agency),
                            agencies=agencies)
    if code is None:
        assert refusal is None
    else:
        assert (refusal.code, refusal.field) == (code, "to_agency")


@pytest.mark.parametrize("duplicate_of, code", [(None, "duplicate_of_missing"), ("", "duplicate_of_missing"),
                                                ("r0", None)])
def test_a_duplicate_names_the_request_it_duplicates(duplicate_of, code):
    refusal = machine.check(status="open", owner="DOT", update=update("duplicate", duplicate_of=duplicate_of),
                            agencies=AGENCIES)
    assert (refusal and (refusal.code, refusal.field)) == ((code, "duplicate_of") if code else None)
