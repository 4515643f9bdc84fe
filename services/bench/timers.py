"""Bench: one worker holding a million open SLA timers; its resident memory and how late due timers fire.

The lifecycle table's changelog is preloaded with open requests (two goals each, so two timers each) as a
worker would have written them; a worker recovers the table, rebuilds its timer heaps and fires the timers
that fall due while it runs. Lateness is the time between a timer's due instant and the timestamp of the
lifecycle event it produced, for timers due after the worker finished rebuilding.
"""

import inspect
import json
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import faust
from kafka import KafkaProducer
from rocksdict import AccessType, Options, Rdict

from civicflow.services.launcher import service as launcher
from civicflow.services.sdk import consumer as sdk_consumer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import offsets as kafka_offsets
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.lifecycle.models import RequestState
from civicflow.streams.settings import Settings
from civicflow.streams.sla.goals import GoalState

DAY_MS = 86_400_000
OFFSET_KEY = b"__faust\0offset__"  # where Faust's RocksDB store keeps a partition's changelog offset


def open_state(*, n: int, partition: int, now_ms: int, due_ms: int | None, policy: str = "default") -> list:
    """An open noise request whose resolve warning falls due at due_ms (or in a month)."""
    submitted = now_ms - 60_000
    far = now_ms + 30 * DAY_MS + n
    acknowledge = GoalState(segment_start=submitted, next_due=far + 1, deadline=far + 2)
    resolve = GoalState(segment_start=submitted, next_due=due_ms or far, deadline=(due_ms or far) + DAY_MS)
    return RequestState(partition=partition, jurisdiction_id="nyc", external_id=str(n), service_code="noise-residential",
                        service_group="Noise", channel="web", priority="normal", districts={"borough": "Bronx"},
                        agency="NYPD", status="open", cycle=0, submitted_at=submitted, policy=policy,
                        goals={"acknowledge": acknowledge, "resolve": resolve}, work=work_details(n)).as_list()


def work_details(n: int) -> list:
    """What a state keeps for a transfer's work order (lifecycle.transfers.details), sized as a demo NYC request:
    a distinct address, point and text per request."""
    return ["Noise - Residential", 40.8 + n * 1e-7, -73.9 - n * 1e-7, f"{2000 + n % 8000} FREDERICK DOUGLASS "
            f"BOULEVARD, NEW YORK", f"10{n:08d}", {"descriptor": ["banging-pounding"],
                                                     "location_type": ["residential-building-house"]},
            f"Banging/Pounding - Residential Building/House ({n})", None, "default"]


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
                      value=json.dumps(open_state(n=n, partition=partition, now_ms=now_ms, due_ms=due_ms)).encode())
    producer.flush()
    producer.close()


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def lead_s(requests: int) -> float:
    """How long after preloading the timed window starts: the first worker recovers the whole changelog before
    (two to four minutes for 500,000 requests on the bench machine); `--timers` smaller sizes a quick run."""
    return 60.0 + 330.0 * requests / 500_000


def main(*, bootstrap: str, data_dir: Path, requests: int = 500_000, due: int = 20_000, lead_s: float = 270.0,
         restart_due: int = 1_000) -> dict:
    """Returns timers_open, timers_rss_mib, timer_lateness_p99_ms, restart_first_timer_s, failover_first_timer_s
    and more.

    1. A worker (the default store: RocksDB, a standby replica per partition) recovers the preloaded changelog,
       rebuilds its timers and fires those due in a window: memory and lateness.
    2. Restart: `restart_due` states due half a second later are written to the changelog, the worker is SIGKILLed
       and started again: seconds from the kill to the first of them firing, and the changelog records it read.
    3. Failover: a second worker joins (it takes half the partitions and a standby of the others); once it has
       rebuilt, `restart_due` states due are written to the first worker's partitions and the first worker is
       SIGKILLed: seconds from the kill to the first of them fired by the second worker.
    4. The same open requests on the in-memory store (the former default), by a worker that recovers the whole
       changelog: its memory and its recovery time, measured in the same run for comparison.
    """
    settings = Settings(kafka_bootstrap_servers=bootstrap, broker_kind="embedded", topic_prefix="timers.",
                        app_id="bench-timers", data_dir=data_dir, log_format="json", log_level="INFO", web_port=16266,
                        table_store="rocksdb")
    shutil.rmtree(data_dir / "faust" / settings.app_id, ignore_errors=True)  # local stores of an earlier broker
    stream_worker.ensure_topics(settings, jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir))
    now_ms = int(time.time() * 1000)
    due_from_ms, due_span_ms = now_ms + int(lead_s * 1000), 30_000
    _say(f"  preloading {requests:,} open requests ({2 * requests:,} timers)…")
    preload(settings=settings, requests=requests, due=due, due_from_ms=due_from_ms, due_span_ms=due_span_ms,
            now_ms=now_ms)
    figures: dict = {}
    first_log, second_log = data_dir / "timers-worker.log", data_dir / "timers-worker-second.log"
    restarted_log, memory_log = data_dir / "timers-worker-restarted.log", data_dir / "timers-worker-memory.log"
    for path in (first_log, second_log, restarted_log, memory_log):
        path.unlink(missing_ok=True)
    first = launcher.start_worker(settings, web_port=settings.web_port, log_path=first_log)
    second = None
    try:
        rebuilt = _wait_for_rebuild(first_log, timeout_s=900)
        time.sleep(max(0.0, (due_from_ms + due_span_ms) / 1000 - time.time() + 3))
        rss = rss_mib(first.pid)
        lateness = _lateness(settings, after_ms=rebuilt["at_ms"])

        _say("  SIGKILL and restart of the worker…")
        kill_ms = _write_due(settings, prefix="restart", count=restart_due, partitions=range(settings.partitions))
        first.kill()
        first.wait()
        first = launcher.start_worker(settings, web_port=settings.web_port, log_path=restarted_log)
        restart = _wait_for_rebuild(restarted_log, timeout_s=600)
        figures["restart_first_timer_s"] = _first_fired(settings, prefix="restart", since_ms=kill_ms)
        figures.update(restart_changelog_records_read=restart["read"], restart_rebuild_s=restart["seconds"])
        figures["table_store_disk_mib"] = round(sum(
            f.stat().st_size for f in (data_dir / "faust" / settings.app_id).rglob("*") if f.is_file()) / 2**20, 1)
        _say(f"    first due timer fired {figures['restart_first_timer_s']} s after the SIGKILL")

        _say("  a second worker with standby replicas, then SIGKILL of the first…")
        second = launcher.start_worker(settings, web_port=settings.web_port + 1, log_path=second_log)
        try:
            _wait_for_rebuild(second_log, timeout_s=900)
            time.sleep(5)  # the assignment settles
            owned = set(_rebuilds(restarted_log)[-1]["partitions"])
            standby_dir = data_dir / "faust" / settings.app_id / "worker-1"
            figures["standby_catch_up_s"] = _wait_for_standby(settings, standby_dir, partitions=owned, timeout_s=900)
            before = _rebuilds(second_log)
            kill_ms = _write_due(settings, prefix="failover", count=restart_due, partitions=sorted(owned))
            first.kill()
            first.wait()
            failover = _wait_for_rebuild(second_log, timeout_s=600, after=len(before))
            figures["failover_first_timer_s"] = _first_fired(settings, prefix="failover", since_ms=kill_ms)
            figures.update(failover_changelog_records_read=failover["read"], failover_standby_records_read=sum(
                r["standby_read"] for r in before) + failover["standby_read"])
            _say(f"    first due timer fired {figures['failover_first_timer_s']} s after the SIGKILL")
        except RuntimeError as error:  # one stage that does not finish: said in the figures, the others still run
            figures["failover_error"] = str(error)
            _say(f"    not measured: {error}")
    finally:
        launcher.stop_process(first)
        if second is not None:
            launcher.stop_process(second)

    _say("  the same open requests on the in-memory store (whole changelog recovered)…")
    memory = settings.model_copy(update={"table_store": "memory"})
    started = time.monotonic()
    process = launcher.start_worker(memory, web_port=settings.web_port, log_path=memory_log)
    try:
        in_memory = _wait_for_rebuild(memory_log, timeout_s=900)
        recovered_s = time.monotonic() - started
        time.sleep(3)
        memory_rss = rss_mib(process.pid)
    finally:
        launcher.stop_process(process)
    return {"timers_open": rebuilt["timers"], "timers_rss_mib": round(rss, 1),
            "timer_rebuild_s": rebuilt["seconds"], "timers_fired": len(lateness),
            "timer_lateness_p50_ms": round(statistics.median(lateness), 1) if lateness else None,
            "timer_lateness_p99_ms": round(statistics.quantiles(lateness, n=100)[98], 1) if len(lateness) > 1
            else None, **figures,
            "timers_rss_mib_memory_store": round(memory_rss, 1), "memory_store_timers_open": in_memory["timers"],
            "memory_store_recovery_s": round(recovered_s, 1)}


# A standby applies what it reads in batches of its table's standby buffer (faust.Table's standby_buffer_size,
# by default its recovery_buffer_size) and a partial batch only once more records come: when the active worker
# stops writing, up to that many records stay read but unapplied (a failover reads them from the changelog), and
# a wait for the very end would wait for ever. It did, in two full runs of 2026-12-05, for 900 s.
STANDBY_BUFFER = inspect.signature(faust.Table).parameters["recovery_buffer_size"].default


def _wait_for_standby(settings: Settings, directory: Path, *, partitions, timeout_s: float) -> float:
    """Wait until the second worker's standby copies of `partitions` hold the changelog up to its end, less what
    Faust may hold read but not yet applied (STANDBY_BUFFER), by the offset Faust keeps in each database (read
    from a read-only open of it); returns the seconds waited."""
    topic = contract_topics.Topics(prefix=settings.topic_prefix).changelog(app_id=settings.app_id,
                                                                           table="lifecycle_state")
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        ends = kafka_offsets.end_offsets(bootstrap_servers=settings.bootstrap_servers,
                                         security=kafka_security.PLAINTEXT, topics=[topic])
        if all((_persisted_offset(directory, partition) or -1) >= ends[(topic, partition)] - 1 - STANDBY_BUFFER
               for partition in partitions):
            return round(time.monotonic() - started, 1)
        time.sleep(2)
    raise RuntimeError(f"the standby replicas in {directory} did not catch up within {timeout_s} s")


def _persisted_offset(directory: Path, partition: int) -> int | None:
    paths = list(directory.glob(f"**/lifecycle_state-{partition}.db"))
    if not paths:
        return None
    db = Rdict(str(paths[0]), Options(raw_mode=True), access_type=AccessType.read_only())
    try:
        raw = db.get(OFFSET_KEY)
    finally:
        db.close()
    return int(raw) if raw is not None else None


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _write_due(settings: Settings, *, prefix: str, count: int, partitions) -> int:
    """Write `count` open requests due half a second from now to the changelog's `partitions` (as the worker
    that owns them would have, but behind its back: the worker does not read them until it recovers).
    Returns now, in ms."""
    topic = contract_topics.Topics(prefix=settings.topic_prefix).changelog(app_id=settings.app_id,
                                                                           table="lifecycle_state")
    partitions = list(partitions)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5,
                             **kafka_security.PLAINTEXT.kafka_python())
    now_ms = int(time.time() * 1000)
    for n in range(count):
        partition = partitions[n % len(partitions)]
        state = open_state(n=n, partition=partition, now_ms=now_ms, due_ms=now_ms + 500)
        producer.send(topic, key=json.dumps(f"{prefix}-{n}").encode(), partition=partition,
                      value=json.dumps(state).encode())
    producer.flush()
    producer.close()
    return int(time.time() * 1000)


def _first_fired(settings: Settings, *, prefix: str, since_ms: int, timeout_s: float = 120) -> float | None:
    """Seconds from since_ms to the broker timestamp of the first lifecycle event of a `prefix` request."""
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    marker = f"{prefix}-".encode()
    found = []

    def seen_one(seen) -> bool:
        found[:] = [m.timestamp for m in seen if m.key and m.key.startswith(marker) and m.timestamp >= since_ms]
        return bool(found)

    sdk_consumer.read_until(bootstrap_servers=settings.bootstrap_servers, security=kafka_security.PLAINTEXT,
                            topics=[topics.lifecycle],
                            until=seen_one, timeout_s=timeout_s, settle_s=0)
    return round((min(found) - since_ms) / 1000, 2) if found else None


def _rebuilds(log_path: Path) -> list[dict]:
    """The worker's timers_rebuilt log events so far, oldest first."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return [{"timers": event["timers"], "seconds": event["seconds"], "partitions": event["partitions"],
             "read": event.get("changelog_records_read"), "standby_read": event.get("standby_records_read") or 0}
            for event in (json.loads(line) for line in text.splitlines() if '"timers_rebuilt"' in line)]


def _wait_for_rebuild(log_path: Path, *, timeout_s: float, after: int = 0) -> dict:
    """The worker's timers_rebuilt log event number `after` (0: its first), once it is written."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events = _rebuilds(log_path)
        if len(events) > after:
            return {**events[after], "at_ms": int(time.time() * 1000)}
        time.sleep(0.2)
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
