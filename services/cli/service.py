"""`civicflow` argument parsing and dispatch."""

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from civicflow.services.cli import commands
from civicflow.services.cli import errors as cli_errors
from civicflow.services.cli import helptext
from civicflow.services.sdk import updates as sdk_updates
from civicflow.streams import settings as stream_settings
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import reachability
from civicflow.streams.kafka import security as kafka_security


def _wait_options(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument("--wait", action="store_true", help=f"wait for and print {what}; exit 1 on a refusal, "
                         "3 without an answer within --timeout")
    command.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits (60)")


def _moment(text: str) -> str:
    """An ISO 8601 date or date and time, checked as the command line is read (the command parses it again)."""
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or time (e.g. 2011-03-01 or "
                                         "2026-12-04T10:00:00-05:00)") from None
    return text


def _offset(text: str) -> str | int:
    """--offset: beginning, end, a number (from the partition's start), or -N (N before the end)."""
    if text in ("beginning", "end"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give beginning, end, an offset N, or -N for N before "
                                         "the end") from None


class _Subcommands:
    """add_parser with the help's environment variables and examples after the options (helptext.COMMANDS)."""

    def __init__(self, actions, *, prefix: str = "") -> None:
        self.actions, self.prefix = actions, prefix

    def add(self, name: str, **kwargs) -> argparse.ArgumentParser:
        return self.actions.add_parser(name, epilog=helptext.epilog(f"{self.prefix}{name}"),
                                       formatter_class=argparse.RawDescriptionHelpFormatter,
                                       description=kwargs.get("help"), **kwargs)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="civicflow", description="Service requests from intake to the agency.",
                                  epilog=helptext.epilog("civicflow"),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"civicflow {_version()}")
    sub = _Subcommands(top.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    run = sub.add("run", help="the whole platform with demo traffic (what `make run` calls)")
    run.add_argument("--rate", type=float, default=5.0, help="demo requests per second (5)")
    run.set_defaults(handler=commands.run)
    sub.add("worker", help="one stream worker; several share the partitions").set_defaults(
        handler=commands.worker)
    sub.add("projection", help="keep the request read model (SQL) up to date from the topics").set_defaults(
        handler=commands.projection)
    sub.add("api", help="the Open311 GeoReport v2 API on the read model").set_defaults(handler=commands.api)
    sub.add("notifier", help="render and deliver citizen notifications to the outbox file").set_defaults(
        handler=commands.notifier)
    broker = sub.add("broker", help="the embedded broker alone, or a throwaway Apache Kafka node (--kafka)")
    broker.add_argument("--port", type=int, default=None, help="port (CIVICFLOW_BROKER_PORT, 9092)")
    broker.add_argument("--kafka", action="store_true",
                        help="Apache Kafka in KRaft mode instead (needs java; its jars are fetched once with mvn "
                        "into the data directory); its data is removed when it stops")
    broker.set_defaults(handler=commands.broker)
    submit = sub.add("submit", help="submit JSON-lines requests; prints each request id")
    submit.add_argument("file", help="JSON lines file, or - for standard input")
    submit.add_argument("--jurisdiction", default="nyc", help="jurisdiction_id when a line has none (nyc)")
    _wait_options(submit, "what became of each request: routed with its agency, or refused with its reasons")
    submit.set_defaults(handler=commands.submit)
    update = sub.add("update", help="send an agency's status update about a request")
    update.add_argument("request_id")
    update.add_argument("status", choices=sdk_updates.STATUSES)
    update.add_argument("--agency", required=True, help="the agency sending it (it must own the request)")
    update.add_argument("--note", default=None, help="status notes for the citizen and other agencies")
    update.add_argument("--to-agency", default=None, help="for transferred: the agency taking over")
    update.add_argument("--duplicate-of", default=None, help="for duplicate: the original request id")
    update.add_argument("--at", type=_moment, default=None, help="when it happened, ISO 8601 with offset (now)")
    update.add_argument("--jurisdiction", default="nyc", help="jurisdiction_id (nyc)")
    _wait_options(update, "what the platform made of it: accepted with the new status, or refused with its reasons")
    update.set_defaults(handler=commands.update)
    tail = sub.add("tail", help="decode a topic and print its events, one JSON object (or table row) each")
    tail.add_argument("topic", help="the topic, without CIVICFLOW_TOPIC_PREFIX (e.g. requests.routed)")
    tail.add_argument("--partition", "-p", type=int, default=None, help="read only this partition (all)")
    start = tail.add_mutually_exclusive_group()
    start.add_argument("--offset", "-o", type=_offset, default="end", metavar="beginning|end|N|-N",
                       help="where to start in each partition read: beginning, end (default: events from now "
                       "on), offset N, or -N for the last N of each partition")
    start.add_argument("--from-beginning", dest="offset", action="store_const", const="beginning",
                       help="the same as --offset beginning")
    tail.add_argument("--key", "-k", default=None, help="only events whose key is this (a request id, for most "
                      "topics)")
    tail.add_argument("--exit", "-e", action="store_true",
                      help="stop at the end of the topic (the end offsets when it started) instead of waiting")
    tail.add_argument("--format", "-f", choices=("json", "table"), default="json",
                      help="json: one JSON object per event, the record decoded (default); table: one line per "
                      "event with partition, offset, time, key and a summary")
    tail.add_argument("--max", "-c", type=int, default=None, help="stop after N events (printed ones)")
    tail.add_argument("--timeout", type=float, default=None, help="stop after S seconds without an event")
    tail.set_defaults(handler=commands.tail)
    replay = sub.add("replay", help="replay a city's 311 export through the pipeline; prints a summary")
    replay.add_argument("file", type=Path, help="the export (CSV)")
    source = replay.add_mutually_exclusive_group()
    source.add_argument("--format", default="nyc311", help="a mapping in deploy/replay/ by name (nyc311)")
    source.add_argument("--mapping", type=Path, default=None, help="a mapping file of your own")
    replay.add_argument("--json", type=Path, default=None, help="write one JSON line per request to this file")
    replay.add_argument("--engine", choices=("local", "kafka"), default="local",
                        help="local (default): the same stage code in this process, no broker, fastest; kafka: "
                        "event-time workers on a broker, the deployment's own path")
    replay.add_argument("--workers", type=int, default=1, help="stream workers to start with --engine kafka (1)")
    model = replay.add_mutually_exclusive_group()
    model.add_argument("--read-model", dest="read_model", default=True,
                       help="project into this read model (SQLite path or SQLAlchemy URL); default: a file of the "
                       "replay's own under CIVICFLOW_DATA_DIR/replays, never the live read model")
    model.add_argument("--no-read-model", dest="read_model", action="store_false", help="project nothing")
    replay.add_argument("--sla", type=Path, default=None,
                        help="what-if: replay under this SLA policy file instead of each jurisdiction's sla.yaml")
    replay.add_argument("--check", action="store_true",
                        help="start nothing: report missing columns, texts matching nothing and anomalies")
    replay.set_defaults(handler=commands.replay)
    report = sub.add("report", help="KPI and equity report from the read model: table, CSV or HTML")
    report.add_argument("read_model", nargs="?", default=None, metavar="READ_MODEL",
                        help="a SQLite file (e.g. a replay's) or a SQLAlchemy URL (default: the live read model)")
    report.add_argument("--compare", nargs=2, default=None, metavar=("RUN_A", "RUN_B"),
                        help="compare two read models: on-time rate and breaches side by side, with B - A")
    report.add_argument("--min-count", type=int, default=None, metavar="N",
                        help="fewest closed requests (settled goals) a group needs to be ranked and highlighted "
                        "(CIVICFLOW_REPORT_MIN_COUNT, 20)")
    report.add_argument("--start", type=_moment, default=None, help="first day (or ISO datetime) of the period (all data)")
    report.add_argument("--end", type=_moment, default=None, help="day after the period, exclusive (all data)")
    output = report.add_mutually_exclusive_group()
    output.add_argument("--csv", type=Path, default=None, help="write CSV to this file (- for stdout)")
    output.add_argument("--html", type=Path, default=None, help="write a self-contained HTML page with charts")
    report.add_argument("--jurisdiction", default=None, help="jurisdiction_id (the only one in the read model)")
    report.set_defaults(handler=commands.report)
    sub.add("topics", help="the topics table").set_defaults(handler=commands.topics)
    bench = sub.add("bench", help="throughput and latency against same-run baselines")
    bench.add_argument("--requests", type=int, default=50_000, help="requests per throughput run (50000)")
    bench.add_argument("--latency-seconds", type=float, default=20.0, help="length of the 100/s latency run (20)")
    bench.add_argument("--replay-events", type=int, default=200_000, help="events of the replay run (200000)")
    bench.add_argument("--timers", type=int, default=1_000_000,
                       help="open timers of the timer, restart and failover runs (1000000; fewer for a quick run)")
    bench.add_argument("--no-kafka", action="store_true",
                       help="skip the rounds and the replay on a throwaway Apache Kafka node (run where java is)")
    bench.add_argument("--year", action="store_true",
                       help="instead: a synthetic New York year replayed with the local engine (wall time, peak RSS)")
    bench.add_argument("--year-events", type=int, default=6_000_000, help="events of the --year run (6000000)")
    bench.add_argument("--year-stop-after", type=int, default=None, metavar="N",
                       help="--year: stop after the first N events of the same year (a quick memory check)")
    bench.set_defaults(handler=commands.bench)
    jurisdiction = sub.add("jurisdiction", help="draft a jurisdiction directory from a city's export, or check "
                                  "one (starts no broker)")
    actions = _Subcommands(jurisdiction.add_subparsers(dest="action", required=True), prefix="jurisdiction ")
    draft = actions.add("draft", help="write (or add to) a jurisdiction directory from an export read through "
                               "a replay mapping; prints a review, also written as DIR/DRAFT.md")
    draft.add_argument("file", type=Path, metavar="EXPORT", help="the export (CSV)")
    mapping = draft.add_mutually_exclusive_group(required=True)
    mapping.add_argument("--format", default=None, help="a mapping in deploy/replay/ by name (e.g. nyc311)")
    mapping.add_argument("--mapping", type=Path, default=None, help="a mapping file of your own")
    draft.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="the jurisdiction directory: written when new, added to when it exists")
    draft.add_argument("--boundaries", action="extend", nargs="+", default=[], metavar="LAYER=FILE[:PROPERTY]",
                       help="a GeoJSON boundary layer, copied into DIR/boundaries; PROPERTY names a feature's "
                       "district (default: the property with a distinct value on every feature); the first layer "
                       "is the jurisdiction's extent")
    draft.set_defaults(handler=commands.jurisdiction_draft)
    check = actions.add("check", help="load a jurisdiction directory (or a directory of them) and list "
                               "every problem; exit 2 on problems")
    check.add_argument("directory", type=Path, metavar="DIR")
    check.set_defaults(handler=commands.jurisdiction_check)
    return top


def _version() -> str:
    """The installed distribution's version (pyproject.toml's)."""
    from importlib import metadata

    try:
        return metadata.version("civicflow")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


# Commands that need a running cluster; `run` and `replay --engine kafka` only when KAFKA_BOOTSTRAP_SERVERS names
# one (otherwise they start the embedded broker themselves).
NEEDS_BROKER = frozenset({"worker", "projection", "api", "notifier", "submit", "update", "tail"})
READS_JURISDICTIONS = frozenset({"worker", "api", "run"})


def _needs_broker(args, settings) -> bool:
    if args.command in NEEDS_BROKER:
        return True
    external = not settings.uses_embedded_broker
    return external and (args.command == "run" or (args.command == "replay" and args.engine == "kafka"
                                                    and not args.check))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `civicflow` console script. An expected error (configuration, a path, a cluster that
    cannot be reached, a port in use: services/cli/errors.py) prints a few lines and exits 2, without a
    traceback; Ctrl-C exits 130."""
    args = parser().parse_args(argv)
    settings = None
    try:
        settings = stream_settings.get()
        if getattr(args, "port", None) is None and args.command == "broker":
            args.port = settings.embedded_broker_port
        if _needs_broker(args, settings):
            # the cluster is asked while the jurisdictions load; a configuration problem is reported first
            with ThreadPoolExecutor(max_workers=1) as pool:
                reachable = pool.submit(reachability.check, settings.bootstrap_servers,
                                        security=kafka_security.from_settings(settings))
                if args.command in READS_JURISDICTIONS:
                    jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
                reachable.result()
        return args.handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - mapped to a message when expected, re-raised otherwise
        text = cli_errors.explain(error, kafka_address=settings.bootstrap_servers if settings else None)
        if text is None:
            raise
        name = " ".join(filter(None, (args.command, getattr(args, "action", None))))
        print(f"civicflow {name}: {text}", file=sys.stderr)
        return cli_errors.CONFIGURATION
