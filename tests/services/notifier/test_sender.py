"""The reference sender renders each notification in its language, once, and masks addresses in its log."""

import io
import json
from datetime import datetime, timezone

import pytest

from services.notifier.service import Sender, mask
from streams.jurisdiction import loader as jurisdiction_loader
from streams.settings import Settings


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


def notification(**overrides) -> dict:
    record = {"event_id": "n-1", "request_id": "r-1", "jurisdiction_id": "nyc", "kind": "breach_apology",
              "language": "es", "channel": "email", "address": "ana@example.org", "first_name": "Ana",
              "occurred_at": datetime(2026, 11, 30, 14, tzinfo=timezone.utc), "service_code": "noise-residential",
              "agency": "NYPD", "status_notes": None,
              "expected_at": datetime(2026, 12, 1, 20, tzinfo=timezone.utc), "external_id": None}
    return {**record, **overrides}


def test_a_message_is_rendered_in_its_language_with_names_and_local_time(jurisdictions):
    outbox = io.StringIO()
    sent = Sender(jurisdictions=jurisdictions, outbox=outbox).deliver(notification())
    assert sent["subject"] == "Lo sentimos: su solicitud está atrasada"
    assert "Hola Ana" in sent["body"] and "Noise - Residential" in sent["body"]
    assert "New York City Police Department" in sent["body"] and "2026-12-01 15:00 EST" in sent["body"]
    assert json.loads(outbox.getvalue())["to"] == "ana@example.org"


def test_each_event_is_delivered_once(jurisdictions):
    outbox = io.StringIO()
    sender = Sender(jurisdictions=jurisdictions, outbox=outbox)
    assert sender.deliver(notification(kind="received", language="en")) is not None
    assert sender.deliver(notification(kind="received", language="en")) is None
    assert len(outbox.getvalue().splitlines()) == 1


def test_addresses_are_masked_for_logs():
    assert mask("ana@example.org") == "a***@example.org" and mask("+1 212 555 0100") == "***00"
