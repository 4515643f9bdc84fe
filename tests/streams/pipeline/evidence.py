"""Where a record read twice came from: for each copy, its place in the output topic, the transaction that wrote it
(producer id and epoch, read from the broker's log segments) and how that transaction ended, and which worker
logged processing its request from which intake offset."""

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.record import MemoryRecords


@dataclass(frozen=True)
class Batch:
    base: int
    last: int
    producer_id: int
    epoch: int
    transactional: bool
    marker: str | None  # "COMMIT" or "ABORT" for a control batch


def batches(data_dir: Path, *, topic: str, partition: int) -> list[Batch]:
    """Every record batch of a topic partition, read from the broker's segment files in offset order."""
    found = []
    for segment in sorted((data_dir / f"{topic}-{partition}").glob("*.log")):
        records = MemoryRecords(segment.read_bytes())
        while (batch := records.next_batch()) is not None:
            marker = None
            if batch.is_control_batch:
                control = next(iter(batch), None)
                marker = None if control is None else ("ABORT" if control.abort else "COMMIT")
            found.append(Batch(batch.base_offset, batch.last_offset, batch.producer_id, batch.producer_epoch,
                               batch.is_transactional, marker))
    return found


def transaction_of(found: list[Batch], offset: int) -> str:
    """The writer of the record at offset and how its transaction ended (the next marker of its producer)."""
    holding = next((b for b in found if b.base <= offset <= b.last), None)
    if holding is None:
        return "batch not found"
    end = next((b for b in found if b.base > holding.last and b.marker and b.producer_id == holding.producer_id),
               None)
    ended = f"{end.marker} (epoch {end.epoch}) at {end.base}" if end else "no marker: open"
    return (f"pid {holding.producer_id} epoch {holding.epoch} batch {holding.base}-{holding.last} "
            f"transactional={holding.transactional}, {ended}")


def processing_lines(logs: dict[str, str], request_ids: set[str]) -> dict[str, list[str]]:
    """Request id → the workers' log lines of its processing: worker, intake partition and offset, time."""
    lines = defaultdict(list)
    for name, text in logs.items():
        for line in text.splitlines():
            if '"request_id"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("request_id") in request_ids:
                lines[entry["request_id"]].append(
                    f"{name}: {entry.get('event')} from {entry.get('topic')}[{entry.get('partition')}]@"
                    f"{entry.get('offset')} at {entry.get('timestamp')}")
    return lines


def describe_duplicates(messages: list, events: list[tuple[str, dict]], *, data_dir: Path | None,
                        logs: dict[str, str]) -> list[str]:
    """One paragraph per (topic, event id) read more than once: each copy's partition, offset and transaction,
    then the workers' log lines of its request."""
    copies = defaultdict(list)
    for message, (topic, record) in zip(messages, events):
        copies[(topic, record["event_id"])].append((message, record["request_id"]))
    twice = {key: found for key, found in copies.items() if len(found) > 1}
    logged = processing_lines(logs, {request_id for found in twice.values() for _, request_id in found})
    cached, paragraphs = {}, []
    for (topic, event_id), found in sorted(twice.items()):
        lines = [f"{topic} event {event_id} (request {found[0][1]}) read {len(found)} times:"]
        for message, _ in found:
            where = (topic, message.partition)
            if data_dir is not None and where not in cached:
                cached[where] = batches(data_dir, topic=topic, partition=message.partition)
            written = transaction_of(cached[where], message.offset) if data_dir is not None else "no log segments"
            lines.append(f"  copy at partition {message.partition} offset {message.offset}: {written}")
        lines += [f"  {line}" for line in logged.get(found[0][1], ["no worker logged it"])]
        paragraphs.append("\n".join(lines))
    return paragraphs


class CommitWatcher:
    """The group's committed offsets of one topic, polled in a thread: each change with its time."""

    def __init__(self, *, bootstrap: str, group: str, topic: str, every_s: float = 0.25) -> None:
        self.changes: list[tuple[float, dict[int, int]]] = []
        self._bootstrap, self._group, self._topic, self._every_s = bootstrap, group, topic, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> "CommitWatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _poll(self) -> None:
        admin = KafkaAdminClient(bootstrap_servers=self._bootstrap)
        try:
            last = None
            while not self._stop.wait(self._every_s):
                try:
                    found = admin.list_group_offsets({self._group: None}).get(self._group, {})
                except Exception:  # the group may not exist yet; evidence only
                    continue
                now = {tp.partition: meta.offset for tp, meta in found.items() if tp.topic == self._topic}
                if now != last:
                    self.changes.append((time.time(), now))
                    last = now
        finally:
            admin.close()

    def around(self, partition: int, moment: float, *, span_s: float = 15.0) -> list[str]:
        """The partition's committed offset at each change within span_s of moment (unix time)."""
        return [f"{_clock(at)} committed {offsets.get(partition)}" for at, offsets in self.changes
                if abs(at - moment) <= span_s]


def _clock(unix: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(unix)) + f".{int(unix % 1 * 1000):03d}"


def _entries(text: str):
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def owners(logs: dict[str, str], *, topic: str) -> dict[int, list[str]]:
    """Partition → per worker, the intake offsets it logged processing and when (first and last)."""
    spans = defaultdict(dict)
    for name, text in logs.items():
        for entry in _entries(text):
            if entry.get("topic") != topic or "request_id" not in entry:
                continue
            span = spans[entry["partition"]].setdefault(name, [entry["offset"], entry["offset"], entry["timestamp"],
                                                                entry["timestamp"], 0])
            span[0], span[1] = min(span[0], entry["offset"]), max(span[1], entry["offset"])
            span[3], span[4] = entry["timestamp"], span[4] + 1
    return {p: [f"{name}: offsets {lo}-{hi} ({n} records) {first[11:23]}..{last[11:23]}"
                for name, (lo, hi, first, last, n) in sorted(by.items())] for p, by in spans.items()}


PARTITION_EVENTS = ("repeated_record_dropped", "stream_partitions_held", "stream_partitions_sought",
                    "deliveries_forgotten", "first_record_after_seek")


def partition_lines(logs: dict[str, str], *, topic: str, partition: int) -> list[str]:
    """The workers' lines about a partition (assignment, seeks, records dropped by the delivery guard) and the
    rebalance lines of Faust and aiokafka, in time order."""
    found, named = [], f"{topic}[{partition}]"
    for name, text in logs.items():
        for entry in _entries(text):
            event = str(entry.get("event"))
            about = event in PARTITION_EVENTS and (
                (entry.get("topic"), entry.get("partition")) == (topic, partition) or named in json.dumps(entry))
            rebalance = any(word in event for word in ("Seek stream", "generation id", "Resuming flow",
                                                       "rebalancing", "Restarting Recovery"))
            if about:
                detail = {k: (v.get(named, "-") if isinstance(v, dict) else v) for k, v in entry.items()
                          if k not in ("event", "level", "logger", "timestamp")}
                found.append((entry.get("timestamp", ""), f"{name}: {event} {detail}"[:300]))
            elif rebalance:
                found.append((entry.get("timestamp", ""), f"{name}: {event}"[:200]))
    return [f"{at[11:23]} {line}" for at, line in sorted(found)]


def describe_losses(lost: set[str], intake: list, intake_events: list[tuple[str, dict]], *, logs: dict[str, str],
                    commits: CommitWatcher, killed_at: float) -> list[str]:
    """One paragraph per intake partition with lost requests: their offsets, who processed the partition before
    and after the kill, the committed offsets around the kill and the workers' lines about the partition."""
    by_partition = defaultdict(list)
    for message, (_, record) in zip(intake, intake_events):
        if record["request_id"] in lost:
            by_partition[(message.topic, message.partition)].append(message.offset)
    processed = {}
    paragraphs = []
    for (topic, partition), offsets in sorted(by_partition.items()):
        if topic not in processed:
            processed[topic] = owners(logs, topic=topic)
        lines = [f"{topic}[{partition}]: {len(offsets)} lost at offsets {sorted(offsets)}; killed at "
                 f"{_clock(killed_at)}"]
        lines += [f"  processed by {line}" for line in processed[topic].get(partition, ["nobody"])]
        lines += [f"  {line}" for line in commits.around(partition, killed_at, span_s=60)]
        lines += [f"  {line}" for line in partition_lines(logs, topic=topic, partition=partition)]
        paragraphs.append("\n".join(lines))
    return paragraphs
