"""`civicflow notifier`: reads the notifications topic, renders each message in its language with the
jurisdiction's templates, and "delivers" it: one JSON line per message in the outbox file (what a real sender
would hand to an email, SMS or push gateway), and a log line with the address masked.

The consumer runtime (services/consumer/runtime.py) polls, commits after each delivered batch and waits out
schema-registry outages by reading the batch again; the sender's event-id memory makes the repeat a no-op.
"""

import json
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog

from civicflow.services.consumer import runtime as consumer_runtime
from civicflow.services.sdk.dedupe import SeenEvents
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.notifications import templates as notifications_templates
from civicflow.streams.observability import logs, metrics
from civicflow.streams.settings import Settings

log = structlog.get_logger(__name__)
STAGE = "notify"
METRICS_PORT_OFFSET = 300  # /metrics on the web port + 300 (6366 by default)
POLL_TIMEOUT_MS = 200
FETCH_MAX_WAIT_MS = 100


def outbox_path(settings: Settings) -> Path:
    return settings.notifications_file or settings.data_dir / "notifications" / "outbox.jsonl"


def mask(address: str) -> str:
    """Enough of an address to recognise it in a log, not to use it."""
    if "@" in address:
        name, domain = address.split("@", 1)
        return f"{name[:1]}***@{domain}"
    return f"***{address[-2:]}"


class Sender:
    """Renders and delivers, each event id once."""

    def __init__(self, *, jurisdictions, outbox) -> None:
        self.jurisdictions = jurisdictions
        self.outbox = outbox
        self.seen = SeenEvents(capacity=200_000)

    def deliver(self, notification: dict) -> dict | None:
        """The delivered message (None when it was delivered before or cannot be rendered)."""
        if not self.seen.first_time(notification["event_id"]):
            return None
        jurisdiction = self.jurisdictions.get(notification["jurisdiction_id"])
        if jurisdiction is None or jurisdiction.notifications is None:
            log.warning("notification_without_templates", jurisdiction=notification["jurisdiction_id"])
            return None
        service = jurisdiction.services.get(notification["service_code"])
        agency = jurisdiction.agency_names.get(notification["agency"]) if notification["agency"] else None
        subject, body = notifications_templates.render(
            spec=jurisdiction.notifications, notification=notification,
            service_name=service.service_name if service else notification["service_code"],
            agency_name=agency.name if agency else None, zone=ZoneInfo(jurisdiction.time_zone))
        message = {"event_id": notification["event_id"], "request_id": notification["request_id"],
                   "channel": notification["channel"], "to": notification["address"],
                   "language": notification["language"], "kind": notification["kind"], "subject": subject,
                   "body": body}
        self.outbox.write(json.dumps(message, ensure_ascii=False) + "\n")
        self.outbox.flush()
        metrics.NOTIFICATIONS_DELIVERED.labels(notification["channel"], notification["kind"]).inc()
        log.info("notification_delivered", request_id=notification["request_id"], kind=notification["kind"],
                 channel=notification["channel"], to=mask(notification["address"]))
        return message


class Delivery(consumer_runtime.Handler):
    """The consumer runtime's handler for the notifier: each record of a batch through the notify stage, counted
    as it goes; the outbox is a local file, so only the registry's outages (the runtime's) are waited out."""

    def __init__(self, *, sender: Sender, codec: contract_codec.Codec) -> None:
        self.sender = sender
        self.codec = codec

    def apply(self, messages: list) -> None:
        for message in messages:
            _deliver(self.sender, self.codec, message)


def _deliver(sender: Sender, codec, message) -> None:
    """One record through the notify stage: in, out (delivered or repeat), dead-lettered when undecodable."""
    started = time.perf_counter()
    try:  # counted in once decoded or refused: a registry outage raises here and the batch is read again
        notification = codec.decode(contract_schemas.NOTIFICATION, message.value)
    except contract_exceptions.DecodeError as error:
        metrics.stage_in(STAGE).inc()
        metrics.dead_lettered(STAGE, error.code).inc()
        log.warning("notification_undecodable", error=str(error), offset=message.offset)
        return
    metrics.stage_in(STAGE).inc()
    delivered = sender.deliver(notification)
    metrics.stage_out(STAGE, "delivered" if delivered else "skipped").inc()
    metrics.stage_seconds(STAGE).observe(time.perf_counter() - started)
    metrics.stage_last(STAGE).set(time.time())


def run(settings: Settings, *, port: int | None = None, stop: threading.Event | None = None) -> int:
    """Deliver until SIGINT or SIGTERM (or `stop` is set); /metrics on `port`, or the first free port from
    web_port + 300 (6366) on."""
    logs.configure(log_format=settings.log_format, level=settings.log_level)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    codec = contract_codec.from_settings(settings)
    path = outbox_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    metrics.zero(STAGE, outcomes=("delivered", "skipped"))
    group = f"{settings.app_id}-notifier"
    with path.open("a", encoding="utf-8") as outbox:
        handler = Delivery(sender=Sender(jurisdictions=jurisdictions, outbox=outbox), codec=codec)
        consumer_runtime.serve(
            settings, name="notifier", handler=handler, stop=stop, poll_timeout_ms=POLL_TIMEOUT_MS,
            connect=lambda: consumer_runtime.consumer_for(settings, group=group, topics=[topics.notifications],
                                                          fetch_max_wait_ms=FETCH_MAX_WAIT_MS),
            metrics_port=port if port is not None else settings.web_port + METRICS_PORT_OFFSET,
            outbox=str(path), topic=topics.notifications, group=group)
    return 0
