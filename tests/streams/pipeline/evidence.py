"""Where a record read twice came from: for each copy, its place in the output topic, the transaction that wrote it
(producer id and epoch, read from the broker's log segments) and how that transaction ended, and which worker
logged processing its request from which intake offset."""

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

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
