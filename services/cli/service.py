"""`civicflow` argument parsing and dispatch."""

import argparse

from services.cli import commands
from streams import settings as stream_settings


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(prog="civicflow", description="Service requests from intake to the agency.")
    sub = top.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="the whole platform with demo traffic (what `make run` calls)")
    run.add_argument("--rate", type=float, default=5.0, help="demo requests per second (5)")
    run.set_defaults(handler=commands.run)
    sub.add_parser("worker", help="one stream worker; several share the partitions").set_defaults(
        handler=commands.worker)
    broker = sub.add_parser("broker", help="the embedded broker alone")
    broker.add_argument("--port", type=int, default=None, help="port (CIVICFLOW_BROKER_PORT, 9092)")
    broker.set_defaults(handler=commands.broker)
    submit = sub.add_parser("submit", help="submit JSON-lines requests; prints each request id")
    submit.add_argument("file", help="JSON lines file, or - for standard input")
    submit.add_argument("--jurisdiction", default="nyc", help="jurisdiction_id when a line has none (nyc)")
    submit.set_defaults(handler=commands.submit)
    tail = sub.add_parser("tail", help="decode a topic and print one JSON object per event")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest event, not now")
    tail.add_argument("--max", type=int, default=None, help="stop after N events")
    tail.add_argument("--timeout", type=float, default=None, help="stop after S seconds without an event")
    tail.set_defaults(handler=commands.tail)
    sub.add_parser("topics", help="the topics table").set_defaults(handler=commands.topics)
    bench = sub.add_parser("bench", help="throughput and latency against same-run baselines")
    bench.add_argument("--requests", type=int, default=50_000, help="requests per throughput run (50000)")
    bench.add_argument("--latency-seconds", type=float, default=20.0, help="length of the 100/s latency run (20)")
    bench.set_defaults(handler=commands.bench)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `civicflow` console script."""
    args = parser().parse_args(argv)
    settings = stream_settings.get()
    if getattr(args, "port", None) is None and args.command == "broker":
        args.port = settings.embedded_broker_port
    return args.handler(args, settings)
