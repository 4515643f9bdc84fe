"""The garbage collector tuned for a stream worker, and its long pauses logged.

Objects that live as long as the worker (modules, jurisdictions, the app) are frozen once it is built, and a
recovered table once recovered (`gc.freeze`): later collections skip them, while reference counting still frees
them as requests close. A worker holding a million open timers has millions of container objects; without the
freeze each full (generation 2) collection walks them all and holds the event loop for a second or more.

A request allocates a few hundred container objects that die young, so the default young-generation threshold
(700 allocations) runs a collection every few requests. YOUNG_THRESHOLD runs one every few hundred requests: in
a 30,000-request bench round, collections took about 185 ms of the worker's time against about 550 ms before.

A batch job that keeps what it makes (a replay keeps every record for its summary and read model) meets the
same cost from the other side: each full collection walks all it kept so far. Inside `batch_job()`, `settle()`
freezes what is alive at the end of each step, so collections look only at the step's own young objects.
"""

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

YOUNG_THRESHOLD = 20_000  # allocations less deallocations between young collections (CPython's default: 700)
PAUSE_LOG_S = 0.1  # a collection at least this long is logged as a warning
log = structlog.get_logger(__name__)
_started: dict[int, float] = {}
_batch_jobs = 0  # batch_job()s running: settle() freezes only inside one


def tune() -> None:
    """Collect the young generation less often; the older generations keep CPython's defaults."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def freeze(reason: str) -> None:
    """Collect once, then move every object alive now out of the collector's way."""
    started = time.monotonic()
    gc.collect()
    gc.freeze()
    log.info("heap_frozen", reason=reason, objects=gc.get_freeze_count(),
             seconds=round(time.monotonic() - started, 3))


@contextmanager
def batch_job() -> Iterator[None]:
    """The worker's young threshold while a batch job runs, and `settle()` in effect; on leaving the outermost,
    the thresholds are restored and what was frozen is the collector's again (`gc.unfreeze`: meant for a
    process that runs batch jobs, not for a worker, whose own freezes it would undo)."""
    global _batch_jobs
    before = gc.get_threshold()
    if _batch_jobs == 0:
        gc.set_threshold(YOUNG_THRESHOLD, before[1], before[2])
    _batch_jobs += 1
    try:
        yield
    finally:
        _batch_jobs -= 1
        if _batch_jobs == 0:
            gc.unfreeze()
            gc.set_threshold(*before)


def settle() -> None:
    """Inside a batch job: what is alive now is kept, out of later collections (reference counting still frees
    it); outside one, nothing."""
    if _batch_jobs:
        gc.freeze()


def watch_pauses() -> None:
    """Log every collection that takes at least PAUSE_LOG_S (installed once per process)."""
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


def _on_collection(phase: str, info: dict) -> None:
    generation = info["generation"]
    if phase == "start":
        _started[generation] = time.perf_counter()
        return
    seconds = time.perf_counter() - _started.pop(generation, time.perf_counter())
    if seconds >= PAUSE_LOG_S:
        log.warning("gc_pause", generation=generation, seconds=round(seconds, 3), collected=info["collected"])
