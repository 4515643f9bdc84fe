"""`civicflow bench --year`: a synthetic New York year replayed with the local engine, in bounded memory.

The year is built from the shared NYC files (the 2011 sample, the day of 2018, the week of 2026): their rows, in
a fixed shuffled order, are templates of requests with new ids (`2011000000` + n) whose creation times are spread
evenly over 2011 (New York time) and whose closes keep the template's delay from creation. The week of 2026 was
exported days after it was made, so 46 % of its rows have no close yet; such a row borrows the delay of the next
closed template, as a year's requests mostly close (a request left open forever would stay in the lifecycle
state, which is not what a year of a city looks like). Every request is then three events (submission, resolved,
closed): 2,000,000 requests make 6,000,000 events.

Rows are written as the API export (`nyc311-api` mapping: the export files' columns by their snake_case names)
and read back by the replay's own RowReader, so the events are what a replay of such an export would see. They
are made lazily, in event-time order (a heap holds the updates still to come), so neither the rows nor the
events of the year are ever all in memory. The replay streams the engine's records into a bulk read model
(SQLite); the per-request summary and `--json` are not made (they hold every request: a year's read model is
summarised by `civicflow report`).
"""

import heapq
import itertools
import json
import random
import resource
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from tqdm import tqdm

from civicflow.services.demo import nyc311
from civicflow.services.replay import local as replay_local
from civicflow.services.replay import mapping as replay_mapping
from civicflow.services.replay import rows as replay_rows
from civicflow.services.replay import service as replay_service
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.observability import heap
from civicflow.streams.settings import Settings

EVENTS = 6_000_000
FIRST_ID = 2_011_000_000
NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2011, 1, 1, tzinfo=NEW_YORK)
END = datetime(2012, 1, 1, tzinfo=NEW_YORK)
SLACK = timedelta(hours=2)  # a local time in the hour clocks go back reads up to an hour early
SEED = 2011
API_FORMAT = "nyc311-api"


def _snake(column: str) -> str:
    return column.strip().lower().replace(" ", "_")


def templates(*, reader: replay_rows.RowReader, jurisdiction, files=nyc311.FILES,
              seed: int = SEED) -> list[tuple[dict, timedelta]]:
    """(row in the API's columns without its id and times, delay from creation to close) for every readable row
    of the files, in a shuffled order fixed by `seed`; rows without a close borrow the next closed row's delay."""
    columns = replay_rows.header(nyc311.DATA / "nyc311_2026-08_week.csv")
    mapping = reader.mapping.columns
    found: list[tuple[dict, timedelta | None]] = []
    for path, format_name in files:
        if not Path(path).exists():
            continue
        own = replay_rows.RowReader(mapping=replay_mapping.load(format_name=format_name), jurisdiction=jurisdiction)
        for row in replay_rows.read(path):
            try:
                created = own.created(row)
            except replay_rows.Unreadable:
                continue
            closed, _ = own.closed(row, created=created)
            named = {_snake(k): v for k, v in row.items() if k}
            template = {c: named.get(c) or "" for c in columns
                        if c not in (mapping.id, mapping.created, mapping.closed)}
            found.append((template, None if closed is None else closed - created))
    random.Random(seed).shuffle(found)
    delays = [delay for _, delay in found if delay is not None]
    if not delays:
        raise ValueError("no closed row in the NYC files to take close delays from")
    out, borrowed = [], 0
    for template, delay in found:
        if delay is None:
            delay, borrowed = delays[borrowed % len(delays)], borrowed + 1
        out.append((template, delay))
    return out


def _local(moment: datetime) -> str:
    return moment.astimezone(NEW_YORK).strftime("%Y-%m-%dT%H:%M:%S.000")


def rows(*, requests: int, templates: list[tuple[dict, timedelta]], columns) -> Iterator[dict]:
    """`requests` rows with new ids, created evenly over 2011 in creation order, closed after their delay
    (`columns`: the API mapping's column names)."""
    step = (END - START) / requests
    for n in range(requests):
        template, delay = templates[n % len(templates)]
        at = (START + step * n).astimezone(timezone.utc)
        yield {**template, columns.id: str(FIRST_ID + n), columns.created: _local(at),
               columns.closed: _local(at + delay), columns.status: "Closed"}


def events(*, reader: replay_rows.RowReader, rows: Iterator[dict]) -> Iterator[replay_rows.RowEvent]:
    """The rows' events in the replay's order (time, then submission before resolved before closed, then request
    id), made as they are needed: an event is let out once no row still to come can be created before it."""
    pending: list[tuple] = []
    for row in rows:
        row_events = reader.events(row)
        horizon = row_events[0].at - SLACK
        while pending and pending[0][0] < horizon:
            yield heapq.heappop(pending)[3]
        for event in row_events:
            heapq.heappush(pending, (event.at, event.order, event.request_id, event))
    while pending:
        yield heapq.heappop(pending)[3]


class _Tally:
    """Counts the events going by and keeps the last one."""

    def __init__(self) -> None:
        self.count, self.last = 0, None

    def through(self, stream) -> Iterator:
        for event in stream:
            self.count += 1
            self.last = event
            yield event


def _cpu_s() -> float:
    """CPU seconds of this process: on a machine shared with other work, what the wall time would be alone
    (the replay is one thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def main(*, events_target: int = EVENTS, data_dir: Path | None = None, progress: bool = True,
         stop_after: int | None = None) -> int:
    """Replay the synthetic year and print the figures; the last line is one JSON object. `stop_after`: only the
    first that many events of the same year (its first weeks, as dense as the whole: past the 30 days a closed
    request can be reopened, the state reaches the size it keeps)."""
    settings = Settings(log_level="WARNING")
    data_dir = Path(data_dir or Path(".civicflow") / "bench")
    data_dir.mkdir(parents=True, exist_ok=True)
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    mapping = replay_mapping.load(format_name=API_FORMAT)
    reader = replay_rows.RowReader(mapping=mapping, jurisdiction=jurisdictions[mapping.jurisdiction_id])
    model = data_dir / "year.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{model}{suffix}").unlink(missing_ok=True)
    started, cpu_started = time.monotonic(), _cpu_s()
    made = templates(reader=reader, jurisdiction=jurisdictions[mapping.jurisdiction_id])
    requests = -(-events_target // 3)
    projection = replay_service.Projection(f"sqlite:///{model.resolve()}", jurisdictions)
    engine = replay_local.LocalEngine(settings=settings, jurisdictions=jurisdictions, sink=projection)
    bar = tqdm(total=min(requests * 3, stop_after or requests * 3), unit="event", desc="year (local)", disable=not progress, file=sys.stderr,
               mininterval=2.0)
    with bar, heap.batch_job():
        stream = events(reader=reader, rows=rows(requests=requests, templates=made, columns=mapping.columns))
        if stop_after is not None:
            stream = itertools.islice(stream, stop_after)
        tally = _Tally()
        stream = tally.through(stream)
        records = engine.run(reader=reader, events=stream, progress=bar)
        projection.close()
    seconds = time.monotonic() - started
    replayed = tally.count
    result = {"year_events": replayed, "year_requests": requests, "year_last_event": tally.last.at.isoformat() if tally.last else None,
              "year_wall_s": round(seconds, 1), "year_cpu_s": round(_cpu_s() - cpu_started, 1),
              "year_events_per_s": round(replayed / seconds, 1),
              "year_pipeline_events_per_s": round(replayed / (seconds - projection.seconds), 1),
              "year_readmodel_records_per_s": round(projection.records / projection.seconds, 1),
              "year_records": dict(records.counts), "year_dead_lettered": records.dead_lettered,
              "year_peak_rss_mib": _peak_rss_mib(), "year_read_model": str(model)}
    print(f"year replayed        {replayed:,} events ({requests:,} requests) in {seconds:,.0f} s "
          f"({result['year_events_per_s']:,.0f} events/s; target under 300 s), {result['year_cpu_s']:,.0f} s of CPU")
    print(f"peak RSS             {result['year_peak_rss_mib']:,} MiB (target under 2,048)")
    print(json.dumps(result))
    return 0
