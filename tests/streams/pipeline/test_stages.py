"""The batch wrapper: a batch's records are encoded together after its decisions, with the same bytes and the
same guarantees; the decision alone takes a submission dict."""

from datetime import timedelta

import pytest

from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.pipeline import decision as pipeline_decision
from civicflow.streams.pipeline import index as pipeline_index
from civicflow.streams.pipeline.models import Input, Source
from civicflow.streams.pipeline.stages import Pipeline
from civicflow.streams.settings import Settings
from tests.streams.pipeline import helpers

TOPICS = contract_topics.Topics()
NOW = helpers.NOW
CODEC = contract_codec.from_url(None)


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


def _pipeline(jurisdictions, codec=CODEC) -> Pipeline:
    return helpers.pipeline(jurisdictions, codec=codec, changelog_topic="state", topics=TOPICS)


def _record(n: int) -> dict:
    return {"request_id": f"r-{n}", "idempotency_key": f"k-{n}", "jurisdiction_id": "nyc",
            "service_code": "street-sign-missing", "channel": "phone", "language": "en",
            "submitted_at": NOW - timedelta(minutes=1), "lat": 40.6608 + n / 100, "long": -73.9986,
            "address_string": None, "address_id": None, "attributes": {"descriptor": ["stop"]},
            "description": "sign gone", "media_url": None, "email": "ana@example.org" if n % 2 else None,
            "phone": None, "first_name": None, "last_name": None, "device_id": None, "account_id": None,
            "due_at": None, "external_id": None}


def _inputs(count: int) -> list[Input]:
    return [Input(b"nyc:street-sign-missing", CODEC.encode(contract_schemas.SUBMITTED, _record(n)), Source("in", 0, n))
            for n in range(count)]


def _batch(pipeline: Pipeline, inputs) -> list:
    return pipeline.decide(inputs, pipeline.decode(inputs))


def _sent(outcomes) -> list[tuple]:
    return [(e.topic, e.key, e.value, e.partition) for outcome in outcomes for e in outcome.emits]


def test_a_batch_sends_the_same_records_as_one_request_at_a_time(jurisdictions):
    inputs = _inputs(4)
    alone = _pipeline(jurisdictions)
    one_by_one = [helpers.run_one(alone, key=key, value=value, source=source) for key, value, source in inputs]
    batched = _pipeline(jurisdictions)
    outcomes = _batch(batched, inputs)
    assert not any(e.topic == TOPICS.routed for o in outcomes for e in o.emits), "encoded only by encode"
    batched.encode(inputs, outcomes)
    assert _sent(outcomes) == _sent(one_by_one)
    assert [o.kind for o in outcomes] == ["routed"] * 4
    assert all(o.timings["route"] > 0 for o in outcomes)


def test_the_decision_takes_a_submission_dict_and_returns_the_record_the_pipeline_encodes(jurisdictions):
    index = pipeline_index.IntakeIndex({}, idempotency_window_ms=86_400_000, clock=lambda: helpers.NOW_MS)
    decided = pipeline_decision.decide(_record(1), key=b"nyc:street-sign-missing", source=Source("in", 0, 1),
                                       jurisdictions=jurisdictions, index=index, topics=TOPICS,
                                       now_ms=helpers.NOW_MS)
    sent = helpers.run_one(_pipeline(jurisdictions), key=b"nyc:street-sign-missing",
                           value=CODEC.encode(contract_schemas.SUBMITTED, _record(1)), source=("in", 0, 1))
    assert decided.kind == sent.kind == "routed"
    routed = next(e.value for e in sent.emits if e.topic == TOPICS.routed)
    assert CODEC.encode(contract_schemas.ROUTED, decided.record) == routed
    again = pipeline_decision.decide({**_record(2), "idempotency_key": "k-1"}, key=b"nyc:street-sign-missing",
                                     source=Source("in", 0, 2), jurisdictions=jurisdictions, index=index,
                                     topics=TOPICS, now_ms=helpers.NOW_MS)
    assert again.kind == "rejected" and again.reasons == ("duplicate_submission",)
    assert again.record["original_request_id"] == "r-1"


def test_a_record_that_cannot_be_encoded_is_dead_lettered_and_the_others_are_sent(jurisdictions, monkeypatch):
    pipeline, inputs = _pipeline(jurisdictions), _inputs(3)
    outcomes = _batch(pipeline, inputs)
    real = CODEC.encode_variants

    def encode_variants(subject, record, **kwargs):
        if record["request_id"] == "r-1":
            raise ValueError("not encodable")
        return real(subject, record, **kwargs)

    monkeypatch.setattr(pipeline.codec, "encode_variants", encode_variants)
    pipeline.encode(inputs, outcomes)
    assert [o.kind for o in outcomes] == ["routed", "dead_lettered", "routed"]
    dead = [e for e in outcomes[1].emits if e.topic == TOPICS.dead_letter]
    record = CODEC.decode(contract_schemas.DEAD_LETTER, dead[0].value)
    assert record["value"] == inputs[1][1] and record["reason_code"] == "processing_error"
    assert "not encodable" in record["reason"]
    assert [e.topic for e in outcomes[1].emits if e.topic != "state"] == [TOPICS.dead_letter]


def test_an_unreachable_registry_while_encoding_leaves_the_rest_for_the_next_call(jurisdictions, monkeypatch):
    pipeline, inputs = _pipeline(jurisdictions), _inputs(3)
    outcomes = _batch(pipeline, inputs)
    real, calls = CODEC.encode_variants, []

    def encode_variants(subject, record, **kwargs):
        calls.append(record["request_id"])
        if len(calls) == 2:
            raise contract_exceptions.RegistryError("connection refused")
        return real(subject, record, **kwargs)

    monkeypatch.setattr(pipeline.codec, "encode_variants", encode_variants)
    with pytest.raises(contract_exceptions.RegistryError):
        pipeline.encode(inputs, outcomes)
    pipeline.encode(inputs, outcomes)
    assert calls == ["r-0", "r-1", "r-1", "r-2"]
    assert [o.kind for o in outcomes] == ["routed"] * 3
    assert [sum(e.topic == TOPICS.routed for e in o.emits) for o in outcomes] == [1, 1, 1]
    pipeline.encode(inputs, outcomes)  # all encoded: nothing happens
    assert calls == ["r-0", "r-1", "r-1", "r-2"]
