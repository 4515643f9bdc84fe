"""Replay a city's export through the whole pipeline on event time, then summarise what the platform did.

The replay runs its own worker(s) on event time, on topics with their own prefix and their own consumer group,
so it never mixes with live traffic; on the embedded broker unless KAFKA_BOOTSTRAP_SERVERS is set.
"""

import json
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kafka import KafkaProducer
from tqdm import tqdm

from civicflow.services.broker import service as broker_service
from civicflow.services.launcher import service as launcher
from civicflow.services.readmodel import bulk as readmodel_bulk
from civicflow.services.readmodel import db as readmodel_db
from civicflow.services.readmodel import projection as readmodel_projection
from civicflow.services.replay import agreement as replay_agreement
from civicflow.services.replay import local as replay_local
from civicflow.services.replay import rows as replay_rows
from civicflow.services.replay import summary as replay_summary
from civicflow.services.replay.exceptions import ReplayError
from civicflow.services.sdk import consumer as sdk_consumer
from civicflow.services.sdk import progress as sdk_progress
from civicflow.services.sdk import requests as sdk_requests
from civicflow.services.sdk import updates as sdk_updates
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import admin as contract_admin
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.observability import heap
from civicflow.streams.settings import Settings


@dataclass
class Replayed:
    """What a replay returns: the outcome of every request and the summary figures."""

    outcomes: dict[str, replay_summary.RequestOutcome]
    figures: dict
    events: int
    seconds: float
    skipped: list[tuple[int, str]]
    read_model_url: str | None = None
    agreement: replay_agreement.Agreement | None = None
    pipeline_seconds: float | None = None  # the engine's part of `seconds`; the rest wrote the read model
    records_projected: int = 0  # routed, rejected and lifecycle records the read model took in


def plan(*, reader: replay_rows.RowReader, rows, repeat: int = 1, spacing_days: int = 0):
    """Every row event in event-time order, and the rows that could not be read (line, reason).

    `rows` are dicts, or (line number, dict) pairs as `rows.read_numbered` gives them.
    """
    events, skipped = [], []
    numbered = [item if isinstance(item, tuple) else (n, item) for n, item in enumerate(rows, start=2)]
    for copy in range(repeat):
        for line, row in numbered:
            try:
                if copy:
                    row = {**row, reader.mapping.columns.id: f"{reader.external_id(row)}-{copy}"}
                shift = timedelta(days=copy * spacing_days)
                events += [replay_rows.RowEvent(e.at + shift, e.order, e.kind, e.request_id, e.row)
                           for e in reader.events(row)]
            except replay_rows.Unreadable as error:
                skipped.append((line, str(error)))
    events.sort(key=lambda e: (e.at, e.order, e.request_id))
    return events, skipped


def replay_settings(settings: Settings, *, sla_path: Path | None, workdir: Path) -> Settings:
    """The settings of a replay: with `sla_path`, its jurisdictions are a copy of the configured ones whose
    sla.yaml is that file (a what-if replay under another SLA policy)."""
    if sla_path is None:
        return settings
    sla_path = Path(sla_path)
    if not sla_path.is_file():
        raise ReplayError(f"--sla {sla_path}: no such file")
    copy = workdir / "jurisdictions"
    shutil.copytree(settings.jurisdictions_dir, copy)
    for directory in copy.iterdir():
        if (directory / "jurisdiction.yaml").exists():
            shutil.copyfile(sla_path, directory / "sla.yaml")
    return settings.model_copy(update={"jurisdictions_dir": copy})


def default_read_model(settings: Settings, *, path: Path, run_id: str) -> str:
    """A replay's own read model: a SQLite file named after the export and the run, never the live one."""
    folder = settings.data_dir.resolve() / "replays"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / f'{Path(path).stem}-{run_id}.sqlite3'}"


ENGINES = ("local", "kafka")


def run(*, settings: Settings, path: Path, mapping, json_path: Path | None = None, workers: int = 1,
        repeat: int = 1, spacing_days: int = 7, progress: bool = True, read_model: bool | str = True,
        sla_path: Path | None = None, engine: str = "local") -> Replayed:
    """Replay the export (`repeat` copies, each `spacing_days` later, with new ids: for benchmarks); prints a
    progress bar when `progress`. `read_model`: True for a read model of the replay's own (a SQLite file under
    the data directory), a URL or path for that one, False for none. `engine`: `local` runs the stage code in
    this process with no broker; `kafka` runs event-time workers on a broker (the deployment's path)."""
    if engine not in ENGINES:
        raise ReplayError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")
    run_id = uuid.uuid4().hex[:8]
    with ExitStack() as stack:
        stack.enter_context(heap.batch_job())  # a replay keeps its rows, events and records: see heap.settle
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="civicflow-replay-")))
        settings = replay_settings(settings, sla_path=sla_path, workdir=workdir)
        jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
        if mapping.jurisdiction_id not in jurisdictions:
            raise ReplayError(f"the mapping's jurisdiction_id {mapping.jurisdiction_id!r} is not configured "
                              f"(known: {', '.join(sorted(jurisdictions))})")
        reader = replay_rows.RowReader(mapping=mapping, jurisdiction=jurisdictions[mapping.jurisdiction_id])
        rows = list(replay_rows.read_numbered(path))
        events, skipped = plan(reader=reader, rows=rows, repeat=repeat, spacing_days=spacing_days)
        if not events:
            raise ReplayError(f"{path}: no row could be read ({len(skipped)} rows skipped"
                              + (f"; first: line {skipped[0][0]}: {skipped[0][1]}" if skipped else "") + ")")
        url = _read_model_url(settings, read_model, path=path, run_id=run_id)
        heap.settle()
        started = time.monotonic()
        if engine == "local":
            records = _run_local(settings, jurisdictions, reader, events, progress=progress)
        else:
            records = _run_kafka(settings, jurisdictions, reader, events, progress=progress, workers=workers,
                                 run_id=run_id, stack=stack)
        pipeline_seconds = time.monotonic() - started
        if url is not None:
            _project(url, jurisdictions, [("routed", records.routed), ("rejected", records.rejected),
                                          ("lifecycle", records.lifecycle)])
        seconds = time.monotonic() - started
    outcomes = replay_summary.outcomes(lifecycle=records.lifecycle, rejected=records.rejected, routed=records.routed)
    update_rejections = Counter(r["reasons"][0]["code"] for r in {x["event_id"]: x for x in records.rejected}.values()
                                if r["update"] is not None)
    replay_summary.add_missing(outcomes, events=events, external_id=reader.external_id)
    figures = replay_summary.totals(outcomes, update_rejections=update_rejections)
    if json_path is not None:
        with Path(json_path).open("w", encoding="utf-8") as out:
            for outcome in sorted(outcomes.values(), key=lambda o: o.external_id or ""):
                out.write(json.dumps(outcome.as_json()) + "\n")
    agreement = replay_agreement.measure(reader=reader, rows=rows, outcomes=outcomes) if repeat == 1 else None
    return Replayed(outcomes=outcomes, figures=figures, events=len(events), seconds=seconds, skipped=skipped,
                    read_model_url=url, agreement=agreement, pipeline_seconds=pipeline_seconds,
                    records_projected=len(records.routed) + len(records.rejected) + len(records.lifecycle)
                    if url is not None else 0)


def _run_local(settings: Settings, jurisdictions, reader, events, *, progress: bool) -> replay_local.Records:
    bar = tqdm(total=len(events), unit="event", desc="replay (local)", disable=not progress, file=sys.stderr)
    with bar:
        return replay_local.LocalEngine(settings=settings, jurisdictions=jurisdictions).run(
            reader=reader, events=events, progress=bar)


def _run_kafka(settings: Settings, jurisdictions, reader, events, *, progress: bool, workers: int, run_id: str,
               stack: ExitStack) -> replay_local.Records:
    if settings.uses_embedded_broker:
        broker = broker_service.EmbeddedBroker(port=broker_service.free_port()).start()
        stack.callback(broker.stop)
        settings = settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers})
    # An update can reach its worker long before intake has routed its request when a replay runs at full speed
    # (62,812 rows: minutes behind); every update of a replay has its request coming, so parked updates wait
    # for it (a day, on the wall clock) instead of the live 30 s after which they are refused as unknown.
    settings = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}replay.{run_id}.",
                                           "app_id": f"{settings.app_id}-replay-{run_id}", "clock": "event",
                                           "notifications": False, "log_level": "WARNING",
                                           "update_grace_s": max(settings.update_grace_s, 86_400.0)})
    stream_worker.ensure_topics(settings, jurisdictions)
    _ensure_agency_topics(settings, reader, events, jurisdictions=jurisdictions)
    processes = []
    for n in range(workers):
        port = stream_worker.free_port(settings.web_host, settings.web_port + 100 + n)
        processes.append(launcher.start_worker(settings, web_port=port,
                                               log_path=settings.data_dir / "logs" / f"replay-{run_id}-{n}.log"))
    try:
        _feed(settings, reader, events, progress=progress)
        return _collect(settings)
    finally:
        for process in processes:
            launcher.stop_process(process)


def _read_model_url(settings: Settings, read_model: bool | str, *, path: Path, run_id: str) -> str | None:
    if read_model is False or read_model is None:
        return None
    if read_model is True:
        return default_read_model(settings, path=path, run_id=run_id)
    text = str(read_model)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def _ensure_agency_topics(settings: Settings, reader, events, *, jurisdictions) -> None:
    """Work and escalation topics for agencies the export names that the jurisdiction does not list (imports go
    to them; a cluster with automatic topic creation off would leave the workers waiting on a missing topic)."""
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    jurisdiction = jurisdictions[reader.mapping.jurisdiction_id]
    agencies = {reader.agency(e.row) for e in events if e.kind == "submission"} - set(jurisdiction.agency_names)
    names = [name for a in sorted(a for a in agencies if a)
             for name in (topics.work(jurisdiction_id=jurisdiction.id, agency=a),
                          topics.escalations(jurisdiction_id=jurisdiction.id, agency=a))]
    if names:
        contract_admin.ensure_topics(bootstrap_servers=settings.bootstrap_servers,
                                     security=kafka_security.from_settings(settings), names=names,
                                     partitions=settings.partitions, replication_factor=settings.replication_factor,
                                     config=settings.topic_config)


def _feed(settings: Settings, reader, events, *, progress: bool) -> None:
    """Produce the events in order, wait for intake, then tell every partition the data has ended. The progress
    bar counts events the workers have processed (their group's committed offsets on intake and updates), not
    events sent."""
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    codec = contract_codec.from_settings(settings)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=20, batch_size=262144,
                             acks=settings.producer_acks_count, max_request_size=10 * 1024 * 1024,
                             **kafka_security.from_settings(settings).kafka_python())
    inputs = [topics.intake, topics.updates]
    starts = sdk_progress.end_offsets(bootstrap_servers=settings.bootstrap_servers,
                                      security=kafka_security.from_settings(settings), topics=inputs)
    bar = tqdm(total=len(events), unit="event", desc="replay (kafka)", disable=not progress, file=sys.stderr)

    def processed(done: dict) -> None:
        count = sum(max(0, done.get(key, 0) - start) for key, start in starts.items())
        bar.update(min(count, bar.total) - bar.n)

    for event in events:
        if event.kind == "submission":
            record = sdk_requests.to_record(reader.request(event.row, submitted_at=event.at))
            producer.send(topics.intake, key=sdk_requests.partition_key(record),
                          value=codec.encode(contract_schemas.SUBMITTED, record))
        else:
            record = sdk_updates.update_record(**_update_fields(reader.update(event.row, kind=event.kind,
                                                                              at=event.at)))
            producer.send(topics.updates, key=record["request_id"].encode(),
                          value=codec.encode(contract_schemas.UPDATE, record))
    producer.flush()
    _wait(settings, [topics.intake], on_progress=processed)
    end = (events[-1].at if events else None)
    if end is not None:
        tick = {"event_id": f"end-{end.isoformat()}", "watermark": end + timedelta(milliseconds=1)}
        value = codec.encode(contract_schemas.CLOCK_TICK, tick)
        for partition in range(settings.partitions):
            producer.send(topics.clock, value=value, partition=partition)
    producer.flush()
    producer.close()
    _wait(settings, [topics.routed, topics.updates, topics.clock], on_progress=processed)
    bar.close()


def _update_fields(update: dict) -> dict:
    fields = {k: update[k] for k in ("request_id", "status", "agency", "jurisdiction_id", "note", "to_agency",
                                     "duplicate_of", "external_id", "update_id")}
    return {**fields, "occurred_at": update["occurred_at"]}


def _wait(settings: Settings, topics: list[str], *, on_progress=None) -> None:
    security = kafka_security.from_settings(settings)
    ends = sdk_progress.end_offsets(bootstrap_servers=settings.bootstrap_servers, security=security, topics=topics)
    sdk_progress.wait_consumed(bootstrap_servers=settings.bootstrap_servers, security=security, group=settings.app_id,
                               ends=ends, timeout_s=3600, on_progress=on_progress)


def _collect(settings: Settings) -> replay_local.Records:
    """The routed, rejected and lifecycle records the replay's workers wrote, in partition and offset order."""
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    codec = contract_codec.from_settings(settings)
    return replay_local.Records(routed=_read(settings, topics.routed, codec, contract_schemas.ROUTED),
                                rejected=_read(settings, topics.rejected, codec, contract_schemas.REJECTED),
                                lifecycle=_read(settings, topics.lifecycle, codec, contract_schemas.LIFECYCLE))


class Projection:
    """A replay's read model fed record by record (`projection(kind, record)`), written in batches by
    readmodel.bulk with the projection's rules; `seconds` is the time it has taken so far."""

    def __init__(self, url: str, jurisdictions) -> None:
        self.engine = readmodel_db.engine_for(url)
        readmodel_db.migrate(self.engine)
        self.catalog, self.now = readmodel_projection.catalog_of(jurisdictions), datetime.now(timezone.utc)
        self.store = readmodel_bulk.BulkStore(self.engine)
        self.seconds = 0.0
        self.records = 0

    def __call__(self, kind: str, record: dict) -> None:
        started = time.perf_counter()
        readmodel_projection.apply(self.store, topic_kind=kind, record=record, now=self.now, catalog=self.catalog)
        self.store.applied()
        self.records += 1
        self.seconds += time.perf_counter() - started

    def close(self) -> None:
        started = time.perf_counter()
        self.store.flush()
        self.engine.dispose()
        self.seconds += time.perf_counter() - started


def _project(url: str, jurisdictions, records: list[tuple[str, list[dict]]]) -> None:
    """Project the replay's records into its read model in batches (readmodel.bulk), with the projection's rules."""
    projection = Projection(url, jurisdictions)
    for kind, items in records:
        for record in items:
            projection(kind, record)
    projection.close()


def _read(settings: Settings, topic: str, codec, subject: str) -> list[dict]:
    security = kafka_security.from_settings(settings)
    ends = sdk_progress.end_offsets(bootstrap_servers=settings.bootstrap_servers, security=security, topics=[topic])
    total = sum(ends.values())
    messages = sdk_consumer.read_until(bootstrap_servers=settings.bootstrap_servers, security=security, topics=[topic],
                                       until=lambda seen: len(seen) >= total, timeout_s=600, settle_s=0)
    messages.sort(key=lambda m: (m.partition, m.offset))
    return [codec.decode(subject, m.value) for m in messages]
