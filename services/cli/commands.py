"""The CLI's commands, each a small function of the parsed arguments and the settings."""

import json
import logging
import sys
import threading
from datetime import datetime

from civicflow.services.broker import service as broker_service
from civicflow.services.cli import views
from civicflow.services.sdk import exceptions as sdk_exceptions
from civicflow.services.sdk.consumer import TopicReader
from civicflow.services.sdk.producer import RequestProducer
from civicflow.services.sdk.updates import UpdateProducer
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.exceptions import CivicflowError
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.observability import logs


def run(args, settings) -> int:
    from civicflow.services.launcher import service as launcher
    return launcher.run(settings, rate=args.rate)


def worker(args, settings) -> int:
    from civicflow.streams import worker as stream_worker
    stream_worker.run(settings)
    return 0


def projection(args, settings) -> int:
    from civicflow.services.readmodel import service as readmodel_service
    return readmodel_service.run(settings) or 0


def api(args, settings) -> int:
    from civicflow.services.api import service as api_service
    return api_service.run(settings) or 0


def notifier(args, settings) -> int:
    from civicflow.services.notifier import service as notifier_service
    return notifier_service.run(settings)


def broker(args, settings) -> int:
    if args.kafka:
        from civicflow.services.broker import kafka as apache_kafka
        print(f"starting Apache Kafka {apache_kafka.VERSION} (the first time, its jars are fetched into "
              f"{apache_kafka.cache_dir(settings.data_dir)})…", flush=True)
        started = apache_kafka.ApacheKafka(host=settings.embedded_broker_host, port=args.port,
                                           data_dir=settings.data_dir).start()
        print(f"Apache Kafka {started.version} on {started.bootstrap_servers} (KRaft, one node; data in "
              f"{started.root}, removed when it stops); Ctrl-C stops it", flush=True)
        print(f"  other terminals: export KAFKA_BOOTSTRAP_SERVERS={started.bootstrap_servers}", flush=True)
    else:
        started = broker_service.EmbeddedBroker(host=settings.embedded_broker_host, port=args.port).start()
        print(f"embedded broker on {started.bootstrap_servers} (memory only); Ctrl-C stops it", flush=True)
        print(f"  other terminals: export KAFKA_BOOTSTRAP_SERVERS={started.bootstrap_servers} "
              "CIVICFLOW_BROKER_KIND=embedded", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        started.stop()
    return 0


def submit(args, settings) -> int:
    """JSON lines in, one JSON line out per request (its request id, or the error). With --wait, each line says
    what became of the request (routed with its agency, or refused with its reasons); exit 1 when any was refused
    or could not be sent, 3 when any had no answer within --timeout."""
    source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    producer = RequestProducer(bootstrap_servers=settings.bootstrap_servers, security=_security(settings),
                               topics=_topics(settings), codec=_codec(settings),
                               default_jurisdiction=args.jurisdiction)
    watcher = _watcher(settings) if args.wait else None
    pending, failures = [], 0
    with source, producer:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            try:
                request_id, receipt = producer.submit(json.loads(line))
                pending.append((number, receipt))
            except (ValueError, sdk_exceptions.SubmissionError, AttributeError, TypeError) as error:
                failures += 1
                pending.append((number, f"{type(error).__name__}: {error}"))
        producer.flush()
        lines = []
        for number, receipt in pending:
            if isinstance(receipt, str):
                lines.append({"line": number, "error": receipt})
                continue
            landed = receipt.get()
            lines.append({"line": number, "request_id": landed.request_id, "topic": landed.topic,
                          "partition": landed.partition, "offset": landed.offset})
    if watcher is not None:
        with watcher:
            outcomes = watcher.submissions([line["request_id"] for line in lines if "request_id" in line],
                                           timeout_s=args.timeout)
        for line in lines:
            line.update(outcomes.get(line.get("request_id"), {}))
    for line in lines:
        print(views.json_line(line))
    return _exit_code(lines, failures)


def update(args, settings) -> int:
    """Send one agency update; prints its update id and where it landed. With --wait, also what the platform made
    of it (accepted with the request's new status, or refused with its reasons); exit 1 on a refusal, 3 without an
    answer within --timeout."""
    at = datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else None
    watcher = _watcher(settings) if args.wait else None
    with UpdateProducer(bootstrap_servers=settings.bootstrap_servers, security=_security(settings),
                        topics=_topics(settings), codec=_codec(settings),
                        jurisdiction_id=args.jurisdiction) as producer:
        try:
            update_id, future = producer.send(request_id=args.request_id, status=args.status, agency=args.agency,
                                              note=args.note, to_agency=args.to_agency,
                                              duplicate_of=args.duplicate_of, occurred_at=at)
        except sdk_exceptions.SubmissionError as error:
            print(views.json_line({"error": str(error)}))
            return 1
        landed = future.get(timeout=30)
    line = {"update_id": update_id, "request_id": args.request_id, "status": args.status, "topic": landed.topic,
            "partition": landed.partition, "offset": landed.offset}
    if watcher is not None:
        with watcher:
            decided = watcher.updates([update_id], timeout_s=args.timeout)[update_id]
        line.update({("new_status" if k == "status" else k): v for k, v in decided.items()})
    print(views.json_line(line))
    return _exit_code([line], 0)


def _watcher(settings):
    """Opened before anything is sent, so that no answer is missed."""
    from civicflow.services.sdk.outcomes import OutcomeWatcher
    return OutcomeWatcher(bootstrap_servers=settings.bootstrap_servers, security=_security(settings),
                          topics=_topics(settings), codec=_codec(settings))


def _exit_code(lines: list[dict], failures: int) -> int:
    """0: all sent (and, waited for, accepted); 1: anything refused or not sent; 3: anything without an answer."""
    if failures or any(line.get("outcome") == "refused" for line in lines):
        return 1
    return 3 if any(line.get("outcome") == "pending" for line in lines) else 0


def tail(args, settings) -> int:
    """Decode a topic and print its events: one JSON object per event, or a table row (--format table)."""
    name = args.topic if args.topic.startswith(settings.topic_prefix) else settings.topic_prefix + args.topic
    reader = TopicReader(bootstrap_servers=settings.bootstrap_servers, security=_security(settings), topic=name,
                         codec=_codec(settings), offset=args.offset, partition=args.partition, key=args.key,
                         stop_at_end=args.exit)
    if args.format == "table":
        print(views.TABLE_HEADER, flush=True)
    try:
        for delivered in reader.read(idle_timeout_s=args.timeout, max_records=args.max):
            if args.format == "table":
                print(views.table_line(delivered), flush=True)
            elif delivered.record is not None:
                print(views.json_line(delivered.record), flush=True)
            else:
                print(views.json_line({"topic": delivered.topic, "partition": delivered.partition,
                                       "offset": delivered.offset, "error": delivered.error,
                                       "raw": delivered.raw}), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
    return 0


def replay(args, settings) -> int:
    """Replay an export through the pipeline and print the summary (or, with --check, only read it)."""
    from civicflow.services.replay import check as replay_check
    from civicflow.services.replay import mapping as replay_mapping
    from civicflow.services.replay import rows as replay_rows
    from civicflow.services.replay import service as replay_service
    from civicflow.services.replay import views as replay_views
    from civicflow.services.replay.exceptions import ReplayError
    logs.configure(log_format=settings.log_format, level="WARNING")
    logging.getLogger("kafka").setLevel(logging.ERROR)  # the clients' routine notices would bury the summary
    try:
        if not args.file.is_file():
            raise ReplayError(f"{args.file}: no such file")
        mapping = replay_mapping.load(path=args.mapping, format_name=args.format)
        jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
        if mapping.jurisdiction_id not in jurisdictions:
            raise ReplayError(f"the mapping's jurisdiction_id {mapping.jurisdiction_id!r} is not configured in "
                              f"{settings.jurisdictions_dir} (known: {', '.join(sorted(jurisdictions))})")
        reader = replay_rows.RowReader(mapping=mapping, jurisdiction=jurisdictions[mapping.jurisdiction_id])
        found = replay_check.check(reader=reader, path=args.file)
        if args.check or not found.ok:
            print(replay_views.check(found))
            return 0 if found.ok else 2
        done = replay_service.run(settings=settings, path=args.file, mapping=mapping, json_path=args.json,
                                  workers=args.workers, read_model=args.read_model, sla_path=args.sla,
                                  engine=args.engine)
    except (ReplayError, CivicflowError) as error:
        print(f"civicflow replay: {error}", file=sys.stderr)
        return 2
    for line, reason in done.skipped[:20]:
        print(f"could not read line {line}: {reason}", file=sys.stderr)
    if len(done.skipped) > 20:
        print(f"… and {len(done.skipped) - 20:,} more rows that could not be read", file=sys.stderr)
    print(replay_views.summary(done.figures, events=done.events, seconds=done.seconds, skipped=len(done.skipped),
                               agreement=done.agreement, pipeline_seconds=done.pipeline_seconds,
                               records_projected=done.records_projected))
    if args.json:
        print(f"\none JSON line per request in {args.json}")
    if done.read_model_url:
        print(f"projected into the read model {done.read_model_url}\n"
              f"  report on it: civicflow report {_report_target(done.read_model_url)}")
    return 0


def _report_target(url: str) -> str:
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url


def report(args, settings) -> int:
    """KPI and equity figures from the read model."""
    from civicflow.services.report import service as report_service
    fmt, out = ("csv", args.csv) if args.csv else ("html", args.html) if args.html else ("table", None)
    return report_service.main(settings, read_model=args.read_model, compare=args.compare, start=args.start,
                               end=args.end, fmt=fmt, out_path=None if out is None or str(out) == "-" else out,
                               jurisdiction_id=args.jurisdiction, min_count=args.min_count)


def topics(args, settings) -> int:
    """Print the topics table."""
    from civicflow.streams import worker as stream_worker
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    print(views.topics_table(stream_worker.all_topic_specs(settings, jurisdictions)))
    return 0


def bench(args, settings) -> int:
    if args.year:
        from civicflow.services.bench import year as bench_year
        return bench_year.main(events_target=args.year_events, stop_after=args.year_stop_after)
    from civicflow.services.bench import service as bench_service
    return bench_service.main(requests=args.requests, latency_seconds=args.latency_seconds,
                              replay_events=args.replay_events, timers=args.timers, apache=not args.no_kafka)


def jurisdiction_draft(args, settings) -> int:
    """Draft a jurisdiction directory from an export (or add to one); prints the review and what changed."""
    from civicflow.services.jurisdiction import draft as jurisdiction_draft_module
    from civicflow.services.jurisdiction import views as jurisdiction_views
    try:
        done = jurisdiction_draft_module.run(export=args.file, out=args.out, mapping_path=args.mapping,
                                             format_name=args.format, boundaries=args.boundaries)
    except CivicflowError as error:
        print(f"civicflow jurisdiction draft: {error}", file=sys.stderr)
        return 2
    print(jurisdiction_views.review(done))
    print(jurisdiction_views.changes(done))
    return 0


def jurisdiction_check(args, settings) -> int:
    """Load a jurisdiction directory and print every problem (exit 2), or a one-line summary (exit 0)."""
    from civicflow.services.jurisdiction import check as jurisdiction_check_module
    found = jurisdiction_check_module.check(args.directory)
    for line in found.ok:
        print(line)
    for problem in found.problems:
        print(problem, file=sys.stderr)
    return 0 if found.fine else 2


def _topics(settings) -> contract_topics.Topics:
    return contract_topics.Topics(prefix=settings.topic_prefix)


def _codec(settings) -> contract_codec.Codec:
    return contract_codec.from_settings(settings)


def _security(settings) -> kafka_security.ClientSecurity:
    return kafka_security.from_settings(settings)
