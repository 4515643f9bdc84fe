"""Bench: one worker holding a million open SLA timers; its resident memory and how late due timers fire.

The lifecycle table's changelog is preloaded with open requests (two goals each, so two timers each) as a
worker would have written them; a worker recovers the table, rebuilds its timer heaps and fires the timers
that fall due while it runs. Lateness is the time between a timer's due instant and the timestamp of the
lifecycle event it produced, for timers due after the worker finished rebuilding.
"""

import json
import re
import statistics
import sys
import time
from pathlib import Path

from kafka import KafkaProducer

from services.launcher import service as launcher
from services.sdk import consumer as sdk_consumer
from streams import worker as stream_worker
from streams.contracts import codec as contract_codec
from streams.contracts import schemas as contract_schemas
from streams.contracts import topics as contract_topics
from streams.jurisdiction import loader as jurisdiction_loader
from streams.kafka import security as kafka_security
from streams.lifecycle.models import RequestState
from streams.settings import Settings
from streams.sla.goals import GoalState

DAY_MS = 86_400_000


def _state(*, n: int, partition: int, now_ms: int, due_ms: int | None) -> list:
    """An open noise request whose resolve warning falls due at due_ms (or in a month)."""
    submitted = now_ms - 60_000
    far = now_ms + 30 * DAY_MS + n
    acknowledge = GoalState(segment_start=submitted, next_due=far + 1, deadline=far + 2)
    resolve = GoalState(segment_start=submitted, next_due=due_ms or far, deadline=(due_ms or far) + DAY_MS)
    return RequestState(partition=partition, jurisdiction_id="nyc", external_id=str(n), service_code="noise-residential",
                        service_group="Noise", channel="web", priority="normal", districts={"borough": "Bronx"},
                        agency="NYPD", status="open", cycle=0, submitted_at=submitted, policy="default",
                        goals={"acknowledge": acknowledge, "resolve": resolve}, routed_at=[partition, n]).as_list()


def preload(*, settings: Settings, requests: int, due: int, due_from_ms: int, due_span_ms: int, now_ms: int) -> None:
    """Write `requests` states to the lifecycle changelog; `due` of them fall due in the given window."""
    topic = contract_topics.Topics(prefix=settings.topic_prefix).changelog(app_id=settings.app_id,
                                                                           table="lifecycle_state")
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, **kafka_security.PLAINTEXT.kafka_python(),
                             linger_ms=20, batch_size=1 << 20,
                             acks=1, compression_type=None)
    step = max(1, requests // max(due, 1))
    for n in range(requests):
        partition = n % settings.partitions
        due_ms = due_from_ms + (n // step) * due_span_ms // max(due, 1) if n % step == 0 and n // step < due else None
        producer.send(topic, key=json.dumps(f"r{n}").encode(), partition=partition,
                      value=json.dumps(_state(n=n, partition=partition, now_ms=now_ms, due_ms=due_ms)).encode())
    producer.flush()
    producer.close()


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def main(*, bootstrap: str, data_dir: Path, requests: int = 500_000, due: int = 20_000, lead_s: float = 270.0) -> dict:
    """Returns timers_open, timers_rss_mib, timer_lateness_p99_ms and more."""
    settings = Settings(kafka_bootstrap_servers=bootstrap, broker_kind="embedded", topic_prefix="timers.",
                        app_id="bench-timers", data_dir=data_dir, log_format="json", log_level="INFO", web_port=16266)
    stream_worker.ensure_topics(settings, jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir))
    now_ms = int(time.time() * 1000)
    due_from_ms, due_span_ms = now_ms + int(lead_s * 1000), 30_000
    print(f"  preloading {requests:,} open requests ({2 * requests:,} timers)…", file=sys.stderr, flush=True)
    preload(settings=settings, requests=requests, due=due, due_from_ms=due_from_ms, due_span_ms=due_span_ms,
            now_ms=now_ms)
    log_path = data_dir / "timers-worker.log"
    process = launcher.start_worker(settings, web_port=settings.web_port, log_path=log_path)
    try:
        rebuilt = _wait_for_rebuild(log_path, timeout_s=600)
        time.sleep(max(0.0, (due_from_ms + due_span_ms) / 1000 - time.time() + 3))
        rss = rss_mib(process.pid)
    finally:
        launcher.stop_process(process)
    lateness = _lateness(settings, after_ms=rebuilt["at_ms"])
    return {"timers_open": rebuilt["timers"], "timers_rss_mib": round(rss, 1),
            "timer_rebuild_s": rebuilt["seconds"], "timers_fired": len(lateness),
            "timer_lateness_p50_ms": round(statistics.median(lateness), 1) if lateness else None,
            "timer_lateness_p99_ms": round(statistics.quantiles(lateness, n=100)[98], 1) if len(lateness) > 1
            else None}


def _wait_for_rebuild(log_path: Path, *, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log_path.read_text(errors="replace").splitlines():
            if '"timers_rebuilt"' in line:
                event = json.loads(line)
                at_ms = int(time.time() * 1000)
                return {"timers": event["timers"], "seconds": event["seconds"], "at_ms": at_ms}
        time.sleep(0.5)
    raise RuntimeError(f"the worker did not rebuild its timers within {timeout_s} s; see {log_path}")


def _lateness(settings: Settings, *, after_ms: int) -> list[float]:
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    codec = contract_codec.from_url(None)
    messages = sdk_consumer.read_until(bootstrap_servers=settings.bootstrap_servers,
                                       security=kafka_security.PLAINTEXT, topics=[topics.lifecycle],
                                       until=lambda seen: True, timeout_s=60, settle_s=3)
    out = []
    for message in messages:
        event = codec.decode(contract_schemas.LIFECYCLE, message.value)
        due_ms = int(event["occurred_at"].timestamp() * 1000)
        if event["kind"] == "sla_warning" and due_ms > after_ms:
            out.append(message.timestamp - due_ms)
    return out
