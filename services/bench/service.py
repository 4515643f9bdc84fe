"""Run the pipeline and two baselines on one embedded broker and print throughput, latency and ratios."""

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.bench import workload
from services.broker import service as broker_service
from services.launcher import service as launcher
from streams.contracts import admin as contract_admin
from streams.contracts import codec as contract_codec
from streams.contracts import schemas as contract_schemas
from streams.jurisdiction import loader as jurisdiction_loader
from streams.settings import Settings
from services.sdk import requests as sdk_requests


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def preload(*, bootstrap: str, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    """Produce every (key, value) to a topic and wait until all are acknowledged."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, batch_size=262144, acks=1)
    for key, value in items:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def collect(*, bootstrap: str, topics: list[str], expected: int, timeout_s: float) -> list:
    """Read the topics from the beginning until `expected` records arrived; returns the messages."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    parts = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    seen, deadline = [], time.monotonic() + timeout_s
    while len(seen) < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            seen.extend(records)
    consumer.close()
    if len(seen) < expected:
        raise RuntimeError(f"only {len(seen)} of {expected} records arrived on {topics} in {timeout_s} s")
    return seen


def rate(messages: list) -> float:
    """Records per second between the first and the last output record's timestamp."""
    stamps = sorted(m.timestamp for m in messages)
    return (len(stamps) - 1) / max((stamps[-1] - stamps[0]) / 1000.0, 1e-3)


def _settings(bootstrap: str, name: str, data_dir: Path) -> Settings:
    return Settings(kafka_bootstrap_servers=bootstrap, topic_prefix=f"{name}.", app_id=f"bench-{name}",
                    data_dir=data_dir, log_format="json", log_level="WARNING", web_port=16166)


def _start(settings: Settings, module: str, log_path: Path):
    env = launcher.worker_env(settings)
    return launcher.start_process([sys.executable, "-m", module] + (["worker"] if module == "services.cli" else []),
                                  env=env, log_path=log_path)


def pipeline_throughput(bootstrap: str, jurisdiction, records: list[dict], data_dir: Path) -> float:
    settings = _settings(bootstrap, "pipeline", data_dir)
    codec = contract_codec.from_settings(None)
    from streams import worker as stream_worker
    stream_worker.ensure_topics(settings, {jurisdiction.id: jurisdiction})
    items = [(sdk_requests.partition_key(r), codec.encode(contract_schemas.SUBMITTED, r)) for r in records]
    preload(bootstrap=bootstrap, topic=f"{settings.topic_prefix}requests.submitted", items=items)
    process = _start(settings, "services.cli", data_dir / "pipeline-worker.log")
    try:
        out = collect(bootstrap=bootstrap, topics=[f"{settings.topic_prefix}requests.routed",
                                                   f"{settings.topic_prefix}requests.triage",
                                                   f"{settings.topic_prefix}requests.rejected"],
                      expected=len(records), timeout_s=600)
    finally:
        launcher.stop_process(process)
    return rate(out)


def faust_throughput(bootstrap: str, values: list[bytes], data_dir: Path) -> float:
    settings = _settings(bootstrap, "faust", data_dir)
    names = [f"{settings.topic_prefix}bench.passthrough_in", f"{settings.topic_prefix}bench.passthrough_out"]
    contract_admin.ensure_topics(bootstrap_servers=bootstrap, names=names, partitions=settings.partitions,
                                 replication_factor=1)
    preload(bootstrap=bootstrap, topic=names[0], items=[(None, v) for v in values])
    process = _start(settings, "services.bench.passthrough", data_dir / "faust-passthrough.log")
    try:
        out = collect(bootstrap=bootstrap, topics=[names[1]], expected=len(values), timeout_s=600)
    finally:
        launcher.stop_process(process)
    return rate(out)


async def _aiokafka_loop(bootstrap: str, source: str, target: str, count: int) -> None:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"{source}-loop",
                                auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=20,
                                session_timeout_ms=6000, heartbeat_interval_ms=1000)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=65536)
    await consumer.start()
    await producer.start()
    try:
        moved = 0
        while moved < count:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    await producer.send(target, record.value, key=record.key)
                    moved += 1
        await producer.flush()
    finally:
        await consumer.stop()
        await producer.stop()


def aiokafka_throughput(bootstrap: str, values: list[bytes]) -> float:
    names = ["aiokafka.passthrough_in", "aiokafka.passthrough_out"]
    contract_admin.ensure_topics(bootstrap_servers=bootstrap, names=names, partitions=8, replication_factor=1)
    preload(bootstrap=bootstrap, topic=names[0], items=[(None, v) for v in values])
    asyncio.run(_aiokafka_loop(bootstrap, names[0], names[1], len(values)))
    return rate(collect(bootstrap=bootstrap, topics=[names[1]], expected=len(values), timeout_s=120))


def latency(bootstrap: str, jurisdiction, records: list[dict], data_dir: Path, *, per_second: float) -> list[float]:
    """Intake-to-routed milliseconds for requests produced at a steady rate to a running worker."""
    settings = _settings(bootstrap, "latency", data_dir)
    from streams import worker as stream_worker
    stream_worker.ensure_topics(settings, {jurisdiction.id: jurisdiction})
    codec = contract_codec.from_settings(None)
    intake, routed = f"{settings.topic_prefix}requests.submitted", f"{settings.topic_prefix}requests.routed"
    process = _start(settings, "services.cli", data_dir / "latency-worker.log")
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    try:
        warm = records[0]
        producer.send(intake, key=sdk_requests.partition_key(warm), value=codec.encode(contract_schemas.SUBMITTED, warm))
        collect(bootstrap=bootstrap, topics=[routed], expected=1, timeout_s=120)
        sent_at = {}
        start = time.monotonic()
        for n, record in enumerate(records[1:]):
            time.sleep(max(0.0, start + n / per_second - time.monotonic()))
            sent_at[record["request_id"]] = time.time() * 1000
            producer.send(intake, key=sdk_requests.partition_key(record),
                          value=codec.encode(contract_schemas.SUBMITTED, record))
        producer.flush()
        out = collect(bootstrap=bootstrap, topics=[routed], expected=len(records), timeout_s=120)
    finally:
        producer.close()
        launcher.stop_process(process)
    waits = []
    for message in out:
        request_id = message.key.decode()
        if request_id in sent_at:
            waits.append(message.timestamp - sent_at[request_id])
    return waits


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main(*, requests: int = 50_000, latency_seconds: float = 20.0) -> int:
    data_dir = Path(".civicflow") / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    jurisdiction = jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)["nyc"]
    _say(f"building {requests} NYC requests…")
    records = workload.requests(jurisdiction=jurisdiction, count=requests)
    codec = contract_codec.from_settings(None)
    values = [codec.encode(contract_schemas.SUBMITTED, r) for r in records]
    with broker_service.EmbeddedBroker(port=broker_service.free_port()) as broker:
        bootstrap = broker.bootstrap_servers
        _say("aiokafka passthrough…")
        aiokafka_rps = aiokafka_throughput(bootstrap, values)
        _say(f"  {aiokafka_rps:,.0f} msg/s\nFaust passthrough…")
        faust_rps = faust_throughput(bootstrap, values, data_dir)
        _say(f"  {faust_rps:,.0f} msg/s\npipeline…")
        pipeline_rps = pipeline_throughput(bootstrap, jurisdiction, records, data_dir)
        _say(f"  {pipeline_rps:,.0f} requests/s\nlatency at 100 requests/s for {latency_seconds:g} s…")
        count = int(100 * latency_seconds) + 1
        waits = latency(bootstrap, jurisdiction, workload.requests(jurisdiction=jurisdiction, count=count, seed=11),
                        data_dir, per_second=100.0)
    result = {"requests": requests, "pipeline_rps": round(pipeline_rps, 1), "faust_passthrough_rps": round(faust_rps, 1),
              "aiokafka_passthrough_rps": round(aiokafka_rps, 1), "ratio": round(pipeline_rps / faust_rps, 3),
              "p50_ms": round(_percentile(waits, 50), 1), "p99_ms": round(_percentile(waits, 99), 1),
              "latency_requests": len(waits)}
    print(f"pipeline            {pipeline_rps:>10,.0f} requests/s  (intake → routed, {requests} requests)")
    print(f"Faust passthrough   {faust_rps:>10,.0f} msg/s       (same broker, same run)")
    print(f"aiokafka loop       {aiokafka_rps:>10,.0f} msg/s")
    print(f"ratio               {result['ratio']:>10.3f}             (pipeline / Faust passthrough; target ≥ 0.8)")
    print(f"latency at 100/s    p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms  (target p99 < 100 ms)")
    print(json.dumps(result))
    return 0
