"""Wire format and codec: round trips, and every kind of bad input is a DecodeError with a code, never a crash."""

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions, wire
from civicflow.streams.contracts import schemas as contract_schemas

CODEC = contract_codec.from_url(None)
RECORD = {"request_id": "r-1", "jurisdiction_id": "nyc", "service_code": "noise", "channel": "mobile",
          "submitted_at": datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc), "lat": 40.7, "long": -73.9,
          "attributes": {"descriptor": ["loud-music-party"]}, "email": "a@example.org"}
GOOD = CODEC.encode(contract_schemas.SUBMITTED, RECORD)


def test_frame_is_magic_byte_then_big_endian_id():
    assert wire.frame(258, b"body") == b"\x00\x00\x00\x01\x02body"
    assert wire.unframe(b"\x00\x00\x00\x01\x02body")[0] == 258


def test_round_trip_keeps_every_field():
    decoded = CODEC.decode(contract_schemas.SUBMITTED, GOOD)
    assert decoded["submitted_at"] == RECORD["submitted_at"]
    assert decoded["attributes"] == {"descriptor": ["loud-music-party"]}
    assert decoded["channel"] == "mobile" and decoded["email"] == "a@example.org" and decoded["due_at"] is None


def test_encoded_bytes_carry_the_pinned_id():
    assert GOOD[:5] == b"\x00\x00\x00\x00\x0a"  # ServiceRequestSubmitted v2 in schemas/registry.json


def test_a_record_written_with_an_earlier_version_decodes_with_the_new_fields_defaulted():
    import fastavro
    import io

    v1 = contract_schemas.parse(contract_schemas.read(contract_schemas.SCHEMAS_DIR / "versions"
                                                      / "ServiceRequestSubmitted.v1.avsc"))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, v1, RECORD)
    decoded = CODEC.decode(contract_schemas.SUBMITTED, wire.frame(1, body.getvalue()))
    assert decoded["import_record"] is None and decoded["request_id"] == "r-1"


@pytest.mark.parametrize("data,error", [
    (b"", exceptions.EmptyMessage),
    (None, exceptions.EmptyMessage),
    (b"{\"json\": true}", exceptions.UnknownMagicByte),
    (b"\x00\x00\x01", exceptions.TruncatedHeader),
    (b"\x00\x00\x00\x30\x39" + GOOD[5:], exceptions.UnknownSchemaId),
    (b"\x00\x00\x00\x00\x02" + GOOD[5:], exceptions.SchemaNotReadable),
    (GOOD[:20], exceptions.MalformedAvro),
    (GOOD + b"\x00", exceptions.MalformedAvro),
])
def test_bad_input_is_a_decode_error_with_a_reason_code(data, error):
    with pytest.raises(error) as caught:
        CODEC.decode(contract_schemas.SUBMITTED, data)
    assert caught.value.code and str(caught.value)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_decoder(data):
    try:
        record = CODEC.decode(contract_schemas.SUBMITTED, data)
    except exceptions.DecodeError as error:
        assert error.code in {"empty_message", "unknown_magic_byte", "truncated_header", "unknown_schema_id",
                              "schema_not_readable", "malformed_avro"}
    else:
        assert set(record) >= {"request_id", "service_code"}


@given(st.binary(min_size=1, max_size=len(GOOD) - 1))
def test_corrupted_valid_messages_never_crash(noise):
    data = bytes(a ^ b for a, b in zip(GOOD, noise.ljust(len(GOOD), b"\x00")))
    try:
        CODEC.decode(contract_schemas.SUBMITTED, data)
    except exceptions.DecodeError:
        pass


def test_subject_of_names_the_writer_record_type():
    assert CODEC.subject_of(GOOD) == contract_schemas.SUBMITTED


ROUTED_RECORD = {
    "event_id": "e-1", "request_id": "r-1", "jurisdiction_id": "nyc",
    "routed_at": datetime(2026, 11, 1, 12, 1, tzinfo=timezone.utc),
    "request": {"service_code": "noise", "service_name": "Noise", "service_group": None, "channel": "web",
                "language": "en", "submitted_at": datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc), "lat": 40.7,
                "long": -73.9, "address_string": None, "address_id": None, "attributes": {"a": ["1", "2"]},
                "description": "loud", "media_url": None, "due_at": None, "external_id": "x-9"},
    "contact": {"email": "a@example.org", "phone": "+1 212 555 0100", "first_name": "Ana", "last_name": None,
                "device_id": None, "account_id": None},
    "enrichment": {"districts": {"borough": "Manhattan"}, "priority": "high", "priority_rule": "night",
                   "duplicate_of": None},
    "routing": {"outcome": "routed", "agency": "NYPD", "queue": "general", "rule": "nypd", "topic": "work.nyc.nypd"},
}


def test_variants_of_one_field_are_byte_identical_to_full_encodes():
    with_contact, without = CODEC.encode_variants(contract_schemas.ROUTED, ROUTED_RECORD, field_name="contact",
                                                  values=[ROUTED_RECORD["contact"], None])
    assert with_contact == CODEC.encode(contract_schemas.ROUTED, ROUTED_RECORD)
    assert without == CODEC.encode(contract_schemas.ROUTED, {**ROUTED_RECORD, "contact": None})
    assert CODEC.decode(contract_schemas.ROUTED, without)["contact"] is None


def test_equal_variants_are_encoded_once_and_match_a_full_encode(monkeypatch):
    record = {**ROUTED_RECORD, "contact": None}
    writes = []
    real = contract_codec.fastavro.schemaless_writer
    monkeypatch.setattr(contract_codec.fastavro, "schemaless_writer", lambda *a: writes.append(1) or real(*a))
    first, second = CODEC.encode_variants(contract_schemas.ROUTED, record, field_name="contact", values=[None, None])
    assert len(writes) == 1, "one encoding for both"
    assert first == second == CODEC.encode(contract_schemas.ROUTED, record)


@given(moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                           timezones=st.just(timezone.utc)),
       due=st.none() | st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1),
                                    timezones=st.just(timezone.utc)))
def test_millis_encode_to_the_same_bytes_as_the_datetimes(moment, due):
    as_datetimes = {**RECORD, "submitted_at": moment, "due_at": due}
    as_millis = {**RECORD, "submitted_at": contract_codec.millis(moment), "due_at": contract_codec.millis(due)}
    assert CODEC.encode(contract_schemas.SUBMITTED, as_millis) == CODEC.encode(contract_schemas.SUBMITTED, as_datetimes)
    decoded = CODEC.decode(contract_schemas.SUBMITTED, CODEC.encode(contract_schemas.SUBMITTED, as_millis))
    assert decoded["submitted_at"] == moment.replace(microsecond=moment.microsecond // 1000 * 1000)
