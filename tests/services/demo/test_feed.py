"""The demo feed shows every outcome: its valid requests are accepted, its broken ones rejected, its raw
bytes dead-lettered and its resubmissions recognised (checked with the real pipeline, in process)."""

from collections import Counter

import pytest

from civicflow.services.demo.feed import DemoFeed
from civicflow.services.sdk import requests as sdk_requests
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.pipeline import index as pipeline_index
from civicflow.streams.pipeline.models import Input, Source
from civicflow.streams.pipeline.stages import Pipeline
from civicflow.streams.settings import Settings

CODEC = contract_codec.from_url(None)


@pytest.fixture(scope="module")
def jurisdictions():
    return jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)


def test_each_kind_of_demo_item_ends_as_intended(jurisdictions):
    feed = DemoFeed(producer=None, jurisdiction=jurisdictions["nyc"], seed=4)
    index = pipeline_index.IntakeIndex({}, idempotency_window_ms=86_400_000)
    pipeline = Pipeline(jurisdictions=jurisdictions, codec=CODEC, topics=contract_topics.Topics(), index=index)
    seen = Counter()
    for n in range(600):
        kind, item = feed.next_request()
        if kind == "raw":
            key, value = b"demo", item
        else:
            record = sdk_requests.to_record(item)
            key, value = sdk_requests.partition_key(record), CODEC.encode(contract_schemas.SUBMITTED, record)
        outcome = pipeline.run([Input(key, value, Source("demo", 0, n))])[0]
        seen[(kind, outcome.kind)] += 1
        if kind == "resubmitted":
            assert outcome.reasons == ("duplicate_submission",)
    assert {kind for kind, _ in seen} == {"valid", "broken", "resubmitted", "raw"}
    assert {outcome for (kind, outcome) in seen if kind == "valid"} <= {"routed", "duplicate"}
    assert {outcome for (kind, outcome) in seen if kind in ("broken", "resubmitted")} == {"rejected"}
    assert {outcome for (kind, outcome) in seen if kind == "raw"} == {"dead_lettered"}


def test_some_demo_requests_carry_contact_details(jurisdictions):
    feed = DemoFeed(producer=None, jurisdiction=jurisdictions["nyc"], seed=5)
    items = [item for kind, item in (feed.next_request() for _ in range(200)) if kind == "valid"]
    with_email = [i for i in items if i.get("email", "").endswith("@example.org")]
    assert 0 < len(with_email) < len(items)


def test_the_demo_draws_from_every_nyc_file_whose_services_the_catalog_has(jurisdictions):
    feed = DemoFeed(producer=None, jurisdiction=jurisdictions["nyc"], seed=6)
    formats = Counter(name for name, _ in feed.rows)
    assert formats["nyc311"] > 999 and formats["nyc311-api"] > 0, formats
    assert all(feed.rows), "every row drawn makes a valid live request"
