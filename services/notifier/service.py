"""`civicflow notifier`: reads the notifications topic, renders each message in its language with the
jurisdiction's templates, and "delivers" it: one JSON line per message in the outbox file (what a real sender
would hand to an email, SMS or push gateway), and a log line with the address masked.
"""

import json
import signal
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog
from kafka import KafkaConsumer
from prometheus_client import start_http_server

from services.sdk.dedupe import SeenEvents
from streams import worker as stream_worker
from streams.contracts import codec as contract_codec
from streams.contracts import exceptions as contract_exceptions
from streams.contracts import schemas as contract_schemas
from streams.contracts import topics as contract_topics
from streams.jurisdiction import loader as jurisdiction_loader
from streams.kafka import security as kafka_security
from streams.notifications import templates as notifications_templates
from streams.observability import logs, metrics
from streams.settings import Settings

log = structlog.get_logger(__name__)
STAGE = "notify"
METRICS_PORT_OFFSET = 300  # /metrics on the web port + 300 (6366 by default)


# A topic this process reads may be created after it starts (by the first worker): Apache Kafka then assigns
# nothing until the client's metadata is refreshed, 5 minutes by default; every 5 s it joins within seconds.
METADATA_MAX_AGE_MS = 5_000


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


def _deliver(sender: Sender, codec, message) -> None:
    """One record through the notify stage: in, out (delivered or repeat), dead-lettered when undecodable."""
    started = time.perf_counter()
    metrics.stage_in(STAGE).inc()
    try:
        notification = codec.decode(contract_schemas.NOTIFICATION, message.value)
    except contract_exceptions.DecodeError as error:
        metrics.dead_lettered(STAGE, error.code).inc()
        log.warning("notification_undecodable", error=str(error), offset=message.offset)
        return
    delivered = sender.deliver(notification)
    metrics.stage_out(STAGE, "delivered" if delivered else "skipped").inc()
    metrics.stage_seconds(STAGE).observe(time.perf_counter() - started)
    metrics.stage_last(STAGE).set(time.time())


def run(settings: Settings) -> int:
    """Deliver until SIGINT or SIGTERM."""
    logs.configure(log_format=settings.log_format, level=settings.log_level)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    codec = contract_codec.from_settings(settings)
    path = outbox_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    consumer = KafkaConsumer(topics.notifications, bootstrap_servers=settings.bootstrap_servers,
                             group_id=f"{settings.app_id}-notifier", auto_offset_reset="earliest",
                             isolation_level=settings.isolation_level,  # exactly_once: committed records only
                             enable_auto_commit=False, fetch_max_wait_ms=100, session_timeout_ms=6000,
                             heartbeat_interval_ms=1000, metadata_max_age_ms=METADATA_MAX_AGE_MS,
                             **kafka_security.from_settings(settings).kafka_python())
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    port = stream_worker.claim_port(settings.web_host, settings.web_port + METRICS_PORT_OFFSET)
    metrics.zero(STAGE, outcomes=("delivered", "skipped"))
    start_http_server(port, addr=settings.web_host)
    log.info("notifier_starting", outbox=str(path), topic=topics.notifications,
             metrics=f"http://{settings.web_host}:{port}/metrics")
    with path.open("a", encoding="utf-8") as outbox:
        sender = Sender(jurisdictions=jurisdictions, outbox=outbox)
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                for message in records:
                    _deliver(sender, codec, message)
            consumer.commit()
    consumer.close()
    return 0
