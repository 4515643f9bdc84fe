"""`make bench`: the pipeline and two baselines on one embedded broker, in one run, with ratios.

Each throughput run preloads its input topic, starts one worker, waits until the worker's consumer group has
committed the whole input, and only then reads the outputs: the rate is outputs per second between the first
and the last output timestamp, so start-up and the reading itself are not counted.
"""

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaProducer

from civicflow.services.bench import draft as bench_draft
from civicflow.services.bench import kafka_io, workload
from civicflow.services.bench import timers as bench_timers
from civicflow.services.bench import visibility as bench_visibility
from civicflow.services.broker import kafka as apache_kafka
from civicflow.services.broker import service as broker_service
from civicflow.services.demo import nyc311
from civicflow.services.launcher import service as launcher
from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.services.replay import service as replay_service
from civicflow.services.sdk import requests as sdk_requests
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import Settings

CODEC = contract_codec.from_url(None)
ROUNDS = 5  # the machine's speed drifts between runs minutes apart: pairs run back to back, medians reported
# (six rounds of the same code on 2026-12-05 gave 0.65 to 0.89: a median of five holds better than of three)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _settings(bootstrap: str, name: str, data_dir: Path, *, broker_kind: str = "embedded") -> Settings:
    """A worker of the intake stage alone: the figures are those of validate, enrich and route."""
    return Settings(kafka_bootstrap_servers=bootstrap, broker_kind=broker_kind, topic_prefix=f"{name}.",
                    app_id=f"bench-{name}", data_dir=data_dir, log_format="json", log_level="WARNING", web_port=16166,
                    agents="intake", lag_interval_s=0)


def _start(settings: Settings, args: list[str], log_name: str):
    return launcher.start_process([sys.executable, "-m", *args], env=launcher.worker_env(settings),
                                  log_path=settings.data_dir / log_name)


def _encoded(records: list[dict]) -> list[tuple[bytes, bytes]]:
    return [(sdk_requests.partition_key(r), CODEC.encode(contract_schemas.SUBMITTED, r)) for r in records]


def _terminal_topics(topics: contract_topics.Topics) -> list[str]:
    """Each request ends with exactly one record on one of these (routed holds every accepted request)."""
    return [topics.routed, topics.rejected, topics.dead_letter]


def pipeline_throughput(bootstrap: str, jurisdiction, records: list[dict], data_dir: Path, *,
                        name: str = "pipeline", broker_kind: str = "embedded") -> float:
    """Requests per second from intake to the agency topics, one worker."""
    settings = _settings(bootstrap, name, data_dir, broker_kind=broker_kind)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    stream_worker.ensure_topics(settings, {jurisdiction.id: jurisdiction})
    ends = kafka_io.preload(bootstrap=bootstrap, topic=topics.intake, items=_encoded(records))
    process = _start(settings, ["civicflow.services.cli", "worker"], "pipeline-worker.log")
    try:
        kafka_io.wait_consumed(bootstrap=bootstrap, group=settings.app_id, topic=topics.intake, ends=ends,
                               timeout_s=900)
    finally:
        launcher.stop_process(process)
    out = kafka_io.read_all(bootstrap=bootstrap, topics=_terminal_topics(topics), expected=len(records),
                            timeout_s=300)
    return kafka_io.rate(out)


def faust_throughput(bootstrap: str, values: list[bytes], data_dir: Path, *, name: str = "faust",
                     broker_kind: str = "embedded") -> float:
    """Messages per second through a bare Faust agent forwarding raw bytes, same app settings."""
    settings = _settings(bootstrap, name, data_dir, broker_kind=broker_kind)
    source, target = f"{settings.topic_prefix}bench.passthrough_in", f"{settings.topic_prefix}bench.passthrough_out"
    contract_admin.ensure_topics(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, names=[source, target],
                                 partitions=settings.partitions, replication_factor=1)
    ends = kafka_io.preload(bootstrap=bootstrap, topic=source, items=[(None, v) for v in values])
    process = _start(settings, ["civicflow.services.bench.passthrough"], "faust-passthrough.log")
    try:
        kafka_io.wait_consumed(bootstrap=bootstrap, group=settings.app_id, topic=source, ends=ends, timeout_s=900)
    finally:
        launcher.stop_process(process)
    return kafka_io.rate(kafka_io.read_all(bootstrap=bootstrap, topics=[target], expected=len(values),
                                           timeout_s=300))


async def _aiokafka_loop(bootstrap: str, source: str, target: str, count: int) -> None:
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, **kafka_security.PLAINTEXT.aiokafka(),
                                group_id=f"{source}-loop",
                                auto_offset_reset="earliest", enable_auto_commit=False, fetch_max_wait_ms=20,
                                session_timeout_ms=6000, heartbeat_interval_ms=1000)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **kafka_security.PLAINTEXT.aiokafka(), linger_ms=5,
                                max_batch_size=65536)
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
    """Messages per second through a bare aiokafka consume-and-produce loop."""
    source, target = "aiokafka.passthrough_in", "aiokafka.passthrough_out"
    contract_admin.ensure_topics(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, names=[source,
                                 target], partitions=8,
                                 replication_factor=1)
    kafka_io.preload(bootstrap=bootstrap, topic=source, items=[(None, v) for v in values])
    asyncio.run(_aiokafka_loop(bootstrap, source, target, len(values)))
    return kafka_io.rate(kafka_io.read_all(bootstrap=bootstrap, topics=[target], expected=len(values),
                                           timeout_s=300))


def latency(bootstrap: str, jurisdiction, records: list[dict], data_dir: Path, *, per_second: float) -> list[float]:
    """Intake-to-routed milliseconds for requests produced at a steady rate to a running worker.

    The time a request entered is its intake record's timestamp; the time it was routed is the timestamp the
    worker gave its output record.
    """
    settings = _settings(bootstrap, "latency", data_dir)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    stream_worker.ensure_topics(settings, {jurisdiction.id: jurisdiction})
    process = _start(settings, ["civicflow.services.cli", "worker"], "latency-worker.log")
    producer = KafkaProducer(bootstrap_servers=bootstrap, **kafka_security.PLAINTEXT.kafka_python(), linger_ms=0,
                             acks=1)
    try:
        warm, *timed = _encoded(records)
        producer.send(topics.intake, key=warm[0], value=warm[1])
        kafka_io.read_all(bootstrap=bootstrap, topics=_terminal_topics(topics), expected=1, timeout_s=120)
        start = time.monotonic()
        futures = []
        for n, (key, value) in enumerate(timed):
            time.sleep(max(0.0, start + n / per_second - time.monotonic()))
            futures.append(producer.send(topics.intake, key=key, value=value))
        producer.flush()
        sent_at = {r["request_id"].encode(): f.get(timeout=30).timestamp for r, f in zip(records[1:], futures)}
        out = kafka_io.read_all(bootstrap=bootstrap, topics=_terminal_topics(topics), expected=len(records),
                                timeout_s=120)
    finally:
        producer.close()
        launcher.stop_process(process)
    return [m.timestamp - sent_at[m.key] for m in out if m.key in sent_at]


def _percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def replay_throughput(bootstrap: str, data_dir: Path, *, events: int,
                      broker_kind: str = "embedded") -> tuple[float, int]:
    """Events per second replaying the NYC sample, repeated to at least `events`, with two workers."""
    mapping = replay_mapping.load(format_name="nyc311")
    reader = replay_rows.RowReader(mapping=mapping, jurisdiction=jurisdiction_loader.load_jurisdictions(
        Settings().jurisdictions_dir)[mapping.jurisdiction_id])
    per_copy = len(replay_service.plan(reader=reader, rows=nyc311.read_rows())[0])
    copies = -(-events // per_copy)
    settings = Settings(kafka_bootstrap_servers=bootstrap, broker_kind=broker_kind, data_dir=data_dir,
                        log_level="WARNING")
    done = replay_service.run(settings=settings, path=nyc311.SAMPLE, mapping=mapping, repeat=copies, workers=2,
                              progress=False, read_model=str(data_dir / "replay-kafka.sqlite3"), engine="kafka")
    return done.events / done.seconds, done.events


REPLAY_LOCAL_FILE, REPLAY_LOCAL_FORMAT = nyc311.DATA / "nyc311_2026-08_week.csv", "nyc311-api"


def replay_local_throughput(data_dir: Path) -> dict:
    """The local engine on NYC's week of 2026 (62,812 rows), one process, --json and read model on: events per
    second in all, and for the pipeline and the read model (bulk projection into SQLite) on their own."""
    model = data_dir / "replay-local.sqlite3"
    model.unlink(missing_ok=True)
    done = replay_service.run(settings=Settings(data_dir=data_dir, log_level="WARNING"), path=REPLAY_LOCAL_FILE,
                              mapping=replay_mapping.load(format_name=REPLAY_LOCAL_FORMAT), progress=False,
                              json_path=data_dir / "replay-local.jsonl", read_model=str(model), engine="local")
    projection_s = done.seconds - done.pipeline_seconds
    return {"replay_local_events": done.events, "replay_local_events_per_s": round(done.events / done.seconds, 1),
            "replay_local_pipeline_events_per_s": round(done.events / done.pipeline_seconds, 1),
            "readmodel_events_per_s": round(done.records_projected / projection_s, 1)}


def throughput_round(bootstrap: str, number: int, *, jurisdiction, records: list[dict], values: list[bytes],
                     data_dir: Path, broker_kind: str = "embedded") -> dict:
    """The pipeline and the Faust passthrough back to back on one broker (the aiokafka loop too in the first
    round on the embedded broker). Which goes first alternates, so neither always meets the fuller broker."""
    figures = {}
    if number == 0 and broker_kind == "embedded":
        _say("aiokafka passthrough…")
        figures["aiokafka"] = aiokafka_throughput(bootstrap, values)
        _say(f"  {figures['aiokafka']:,.0f} msg/s")
    order = ("faust", "pipeline") if number % 2 == 0 else ("pipeline", "faust")
    for kind in order:
        _say(f"round {number + 1} of {ROUNDS}: {'Faust passthrough' if kind == 'faust' else 'pipeline'}…")
        if kind == "faust":
            figures[kind] = faust_throughput(bootstrap, values, data_dir, name=f"{broker_kind}-faust-{number}",
                                             broker_kind=broker_kind)
        else:
            figures[kind] = pipeline_throughput(bootstrap, jurisdiction, records, data_dir,
                                                name=f"{broker_kind}-pipeline-{number}", broker_kind=broker_kind)
        _say(f"  {figures[kind]:,.0f} per second")
    figures["ratio"] = figures["pipeline"] / figures["faust"]
    return figures


def on_apache_kafka(*, jurisdiction, records: list[dict], values: list[bytes], data_dir: Path,
                    replay_events: int) -> dict:
    """The intake rounds and the Kafka-engine replay again on a throwaway Apache Kafka node (the broker production
    runs on), where this machine has java (and mvn until the jars are cached): `kafka_*` keys. Without them, the
    reason is `kafka_skipped` and the run goes on."""
    libs = apache_kafka.cache_dir(Settings().data_dir)
    if missing := apache_kafka.missing_tools(libs):
        return {"kafka_skipped": f"no {' or '.join(missing)} on PATH: Apache Kafka not measured"}
    _say(f"Apache Kafka {apache_kafka.VERSION}, a fresh KRaft node per round…")
    try:
        rounds = []
        for number in range(ROUNDS):  # a fresh node each, as the embedded rounds get a fresh broker: rounds
            with _apache_node() as node:  # that share nothing (a used node was once slower: see the diary)
                rounds.append(throughput_round(node.bootstrap_servers, number, jurisdiction=jurisdiction,
                                               records=records, values=values, data_dir=data_dir, broker_kind="kafka"))
        _say(f"replay on Apache Kafka, repeated to {replay_events:,} events, two workers…")
        with _apache_node() as node:
            replay_eps, replayed = replay_throughput(node.bootstrap_servers, data_dir, events=replay_events,
                                                     broker_kind="kafka")
    except apache_kafka.KafkaUnavailable as error:
        return {"kafka_skipped": str(error)}
    return {**{f"kafka_{key}": value for key, value in round_figures(rounds).items()},
            "kafka_replay_events": replayed, "kafka_replay_events_per_s": round(replay_eps, 1)}


def round_figures(rounds: list[dict]) -> dict:
    """The rounds' medians (pipeline, passthrough and their ratio) and each round's ratio, as the JSON keys."""
    return {"pipeline_rps": round(statistics.median(r["pipeline"] for r in rounds), 1),
            "faust_passthrough_rps": round(statistics.median(r["faust"] for r in rounds), 1),
            "ratio": round(statistics.median(r["ratio"] for r in rounds), 3),
            "ratios": [round(r["ratio"], 3) for r in rounds]}


def _apache_node() -> apache_kafka.ApacheKafka:
    """A throwaway node (started by `with`), its jars under the platform's data directory."""
    return apache_kafka.ApacheKafka(data_dir=Settings().data_dir)


def _print_apache_kafka(figures: dict) -> None:
    if "kafka_skipped" in figures:
        print(f"Apache Kafka        not measured: {figures['kafka_skipped']}")
        return
    print(f"Apache Kafka        ratio {figures['kafka_ratio']:.3f} (rounds "
          f"{', '.join(f'{r:.3f}' for r in figures['kafka_ratios'])}; pipeline {figures['kafka_pipeline_rps']:,.0f}"
          f" requests/s, Faust passthrough {figures['kafka_faust_passthrough_rps']:,.0f} msg/s); replay (kafka) "
          f"{figures['kafka_replay_events_per_s']:,.0f} events/s ({figures['kafka_replay_events']:,} events)")


def main(*, requests: int = 50_000, latency_seconds: float = 20.0, replay_events: int = 200_000,
         timers: int = 1_000_000, apache: bool = True) -> int:
    """Run the measurements and print them; the last line is one JSON object."""
    data_dir = Path(".civicflow") / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    jurisdiction = jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)["nyc"]
    _say(f"building {requests:,} NYC requests…")
    records = workload.requests(jurisdiction=jurisdiction, count=requests)
    values = [value for _, value in _encoded(records)]
    rounds = []
    for number in range(ROUNDS):
        with broker_service.EmbeddedBroker(port=broker_service.free_port()) as broker:
            rounds.append(throughput_round(broker.bootstrap_servers, number, jurisdiction=jurisdiction,
                                            records=records, values=values, data_dir=data_dir))
    aiokafka_rps = rounds[0]["aiokafka"]
    medians = round_figures(rounds)
    pipeline_rps, faust_rps = medians["pipeline_rps"], medians["faust_passthrough_rps"]
    with broker_service.EmbeddedBroker(port=broker_service.free_port()) as broker:
        _say(f"latency at 100 requests/s for {latency_seconds:g} s…")
        count = int(100 * latency_seconds) + 1
        waits = latency(broker.bootstrap_servers, jurisdiction,
                        workload.requests(jurisdiction=jurisdiction, count=count, seed=11), data_dir, per_second=100.0)
    with broker_service.EmbeddedBroker(port=broker_service.free_port()) as broker:  # a fresh broker's memory
        _say(f"replay of the NYC sample, repeated to {replay_events:,} events, two workers…")
        replay_eps, replayed = replay_throughput(broker.bootstrap_servers, data_dir, events=replay_events)
        _say(f"  {replay_eps:,.0f} events/s")
    _say("replay of NYC's week of 2026 with the local engine (no broker), --json and read model on…")
    local_figures = replay_local_throughput(data_dir)
    _say(f"  {local_figures['replay_local_events_per_s']:,.0f} events/s (pipeline "
         f"{local_figures['replay_local_pipeline_events_per_s']:,.0f}, read model "
         f"{local_figures['readmodel_events_per_s']:,.0f} records/s)")
    with broker_service.EmbeddedBroker(port=broker_service.free_port()) as broker:
        _say("status changes through the Open311 API at the demo's rate…")
        visible = bench_visibility.main(bootstrap=broker.bootstrap_servers, data_dir=data_dir)
        _say(f"  p50 {visible['visibility_p50_ms']} ms")
    with broker_service.EmbeddedBroker(port=broker_service.free_port()) as broker:
        _say(f"one worker holding {timers:,} open timers…")
        timer_figures = bench_timers.main(bootstrap=broker.bootstrap_servers, data_dir=data_dir,
                                          requests=timers // 2, lead_s=bench_timers.lead_s(timers // 2))
    kafka_figures = (on_apache_kafka(jurisdiction=jurisdiction, records=records, values=values, data_dir=data_dir,
                                     replay_events=replay_events)
                     if apache else {"kafka_skipped": "--no-kafka"})
    _say("jurisdiction draft of NYC's week of 2026 into a temporary directory…")
    draft_s = bench_draft.draft_seconds()
    _say(f"  {draft_s} s")
    result = {"requests": requests, **medians, "aiokafka_passthrough_rps": round(aiokafka_rps, 1),
              "p50_ms": round(_percentile(waits, 50), 1), "p99_ms": round(_percentile(waits, 99), 1),
              "latency_requests": len(waits),
              "replay_events": replayed, "replay_events_per_s": round(replay_eps, 1), **local_figures,
              **timer_figures, **visible, **kafka_figures}
    result["draft_s"] = draft_s
    for number, r in enumerate(rounds, start=1):
        print(f"round {number}: pipeline {r['pipeline']:,.0f} requests/s, Faust passthrough {r['faust']:,.0f} msg/s, "
              f"ratio {r['ratio']:.3f}")
    print(f"pipeline            {pipeline_rps:>10,.0f} requests/s  (intake → agency topic, {requests:,} requests; "
          f"median of {ROUNDS} rounds)")
    print(f"Faust passthrough   {faust_rps:>10,.0f} msg/s       (same broker as each pipeline run; median)")
    print(f"aiokafka loop       {aiokafka_rps:>10,.0f} msg/s")
    print(f"ratio               {result['ratio']:>10.3f}             (pipeline / Faust passthrough, median of the "
          "rounds' ratios; target ≥ 0.8)")
    print(f"latency at 100/s    p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms over {len(waits)} requests "
          "(target p99 < 100 ms)")
    print(f"replay (kafka)      {replay_eps:>10,.0f} events/s    ({replayed:,} events, two workers, read model on; "
          "target 5,000)")
    print(f"replay (local)      {local_figures['replay_local_events_per_s']:>10,.0f} events/s    "
          f"({local_figures['replay_local_events']:,} events, one process, --json and read model on; target 25,000)")
    print(f"read model (bulk)   {local_figures['readmodel_events_per_s']:>10,.0f} records/s   (SQLite; target 20,000)")
    print(f"open timers         {timer_figures['timers_open']:>10,}             in {timer_figures['timers_rss_mib']} MiB"
          f" of worker memory (target < 600), rebuilt in {timer_figures['timer_rebuild_s']} s; on the in-memory "
          f"store {timer_figures['timers_rss_mib_memory_store']} MiB, its whole changelog recovered in "
          f"{timer_figures['memory_store_recovery_s']} s")
    print(f"restart             first due timer {timer_figures['restart_first_timer_s']} s after a SIGKILL "
          f"(target < 10; {timer_figures['restart_changelog_records_read']:,} changelog records read, timers rebuilt "
          f"in {timer_figures['restart_rebuild_s']} s)")
    if "failover_error" in timer_figures:
        print(f"failover            not measured (target < 15): {timer_figures['failover_error']}")
    else:
        print(f"failover            first due timer {timer_figures['failover_first_timer_s']} s after a SIGKILL, on "
              f"the worker with the standby (target < 15; {timer_figures['failover_changelog_records_read']:,} "
              "changelog records read)")
    print(f"timer lateness      p50 {timer_figures['timer_lateness_p50_ms']} ms, p99 "
          f"{timer_figures['timer_lateness_p99_ms']} ms over {timer_figures['timers_fired']:,} timers "
          "(target p99 < 1000 ms)")
    print(f"API visibility      p50 {visible['visibility_p50_ms']} ms, max {visible['visibility_max_ms']} ms over "
          f"{visible['visibility_samples']} status changes at 5 requests/s (target < 1000 ms)")
    _print_apache_kafka(kafka_figures)
    print(f"jurisdiction draft  {draft_s:>10.1f} s           (NYC's week of 2026, 62,812 rows, into a new directory)")
    print(json.dumps(result))
    return 0
