"""A transferred request as new work for the agency that takes it over."""

from datetime import datetime

from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.events import ids
from civicflow.streams.events.models import Emit

TRANSFER_RULE = "transfer"


def work_for(*, codec, topics, routed: bytes, transfer, now: datetime) -> Emit:
    """The request's routed record, re-addressed to the new agency's work topic, without contact details."""
    record = codec.decode(contract_schemas.ROUTED, routed)
    topic = topics.work(jurisdiction_id=transfer.jurisdiction_id, agency=transfer.to_agency)
    record.update(
        event_id=ids.uuid5(f"{transfer.request_id}/transfer/{transfer.update_id}"),
        routed_at=now, contact=None,
        routing={"outcome": "routed", "agency": transfer.to_agency, "queue": "transfers", "rule": TRANSFER_RULE,
                 "topic": topic})
    return Emit(topic, transfer.request_id.encode(), codec.encode(contract_schemas.ROUTED, record))
