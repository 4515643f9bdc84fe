"""The reference sender renders each notification in its language, once, and masks addresses in its log."""

import io
import json
import threading
from datetime import datetime, timezone

import pytest
from prometheus_client import REGISTRY

from civicflow.services.consumer import runtime as consumer_runtime
from civicflow.services.notifier.service import Delivery, Sender, mask
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import Settings
from tests.support.consumers import FakeConsumer

CODEC = contract_codec.from_url(None)


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


class OutageCodec:
    """Decodes by the real codec after `outages` schema-registry failures."""

    def __init__(self, outages: int) -> None:
        self.outages = outages

    def decode(self, subject, value):
        if self.outages:
            self.outages -= 1
            raise contract_exceptions.RegistryError("registry unreachable")
        return CODEC.decode(subject, value)


def test_a_registry_outage_is_waited_out_and_each_notification_delivered_once(jurisdictions):
    events = [notification(event_id=f"n-{i}", kind="received", language="en") for i in range(3)]
    values = [CODEC.encode(contract_schemas.NOTIFICATION, e) for e in events] + [b"\x00\x00"]
    stop = threading.Event()
    consumer = FakeConsumer({"t.requests.notifications": values}, stop=stop, per_poll=10)
    outbox = io.StringIO()
    handler = Delivery(sender=Sender(jurisdictions=jurisdictions, outbox=outbox), codec=OutageCodec(outages=2))
    before = REGISTRY.get_sample_value("civicflow_stage_events_dead_lettered_total",
                                       {"stage": "notify", "reason": "truncated_header"}) or 0.0
    pauses = []
    consumer_runtime.consume(consumer, handler, stop=stop, sleep=lambda s: pauses.append(s) or False)
    assert pauses == [0.5, 1.0]
    assert [json.loads(line)["event_id"] for line in outbox.getvalue().splitlines()] == ["n-0", "n-1", "n-2"]
    assert REGISTRY.get_sample_value("civicflow_stage_events_dead_lettered_total",
                                     {"stage": "notify", "reason": "truncated_header"}) == before + 1
    assert {tp.topic: o for tp, o in consumer.committed.items()} == {"t.requests.notifications": 4}
