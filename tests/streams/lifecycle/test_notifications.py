"""Citizen notifications: which a lifecycle event owes, in the citizen's language, on the channel that reaches
them."""

from datetime import timedelta

from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.lifecycle import notifications as lifecycle_notifications
from civicflow.streams.lifecycle import state as lifecycle_state
from tests import factories
from tests.streams.lifecycle.test_processor import (
    CODEC, HOUR, T0, T0_MS, TOPICS, Clock, processor, routed, update)


def notifications(result) -> list[dict]:
    return [CODEC.decode(contract_schemas.NOTIFICATION, e.value) for e in result.events
            if e.topic == TOPICS.notifications]


def with_contact(record: dict, **contact) -> dict:
    fields = {"email": None, "phone": None, "first_name": None, "last_name": None, "device_id": None,
              "account_id": None, **contact}
    return {**record, "contact": fields, "request": {**record["request"], "language": contact.pop("lang", "en")}}


def test_the_citizen_hears_of_every_public_change_in_their_language(jurisdictions):
    clock = Clock()
    p = processor(jurisdictions, clock=clock)
    opened = notifications(p.on_routed(with_contact(routed(), email="ana@example.org", first_name="Ana",
                                                    lang="es-US"), partition=0, offset=0))
    assert [(n["kind"], n["language"], n["channel"], n["address"]) for n in opened] == [
        ("received", "es", "email", "ana@example.org"), ("routed", "es", "email", "ana@example.org")]
    assert opened[0]["expected_at"] == T0 + timedelta(hours=8)
    noted = notifications(p.on_update(update("acknowledged", T0_MS + 60_000, note="On our way"), partition=0))
    assert [(n["kind"], n["status_notes"]) for n in noted] == [("acknowledged", "On our way")]
    assert notifications(p.on_update(update("on_hold", T0_MS + 120_000), partition=0)) == [], "not public"
    p.on_update(update("in_progress", T0_MS + 180_000), partition=0)
    clock.now = T0_MS + 30 * HOUR
    apology = [n for n in notifications(p.on_tick()) if n["kind"] == "breach_apology"]
    assert len(apology) == 1 and apology[0]["expected_at"] > T0 + timedelta(hours=8)


def test_no_contact_no_notification_and_a_phone_gets_an_sms(jurisdictions):
    p = processor(jurisdictions)
    assert notifications(p.on_routed(routed("quiet"), partition=0, offset=0)) == []
    sms = notifications(p.on_routed(with_contact(routed("loud"), phone="+1 212 555 0100", lang="fr"),
                                    partition=0, offset=1))
    assert {(n["channel"], n["language"]) for n in sms} == {("sms", "en")}, "no French templates: English"


def test_what_each_event_owes_and_by_which_channel():
    record = factories.routed(routed_at=T0, contact={**factories.NO_CONTACT, "phone": "+1 212 555 0100",
                                                     "device_id": "d-1"})
    state = lifecycle_state.opened(record, partition=0, policy="default")
    assert lifecycle_notifications.owed(state, "opened") == [("received", None), ("routed", None)]
    assert lifecycle_notifications.owed(state, "transition", update_status="transferred") == [("routed", None)]
    state.status = "on_hold"
    assert lifecycle_notifications.owed(state, "transition", update_status="on_hold") == [], "not public"
    assert lifecycle_notifications.owed(state, "sla_warning", goal="resolve") == []
    assert lifecycle_notifications.reach(state.contact) == ("sms", "+1 212 555 0100"), "a phone before a device"
    assert lifecycle_notifications.notification(request_id="r-1", state=state, kind="received", at_ms=T0_MS,
                                                event_name="opened", expected_ms=None, note=None, spec=None) is None
