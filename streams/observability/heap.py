"""Garbage-collector pauses: large recovered tables are frozen out of full collections, and long pauses logged.

A worker holding a million open timers has millions of container objects. A full (generation 2) collection
walks all of them and holds the event loop for a second or more, which makes due timers late. After recovery
the recovered state is frozen (`gc.freeze`): later collections skip it, while reference counting still frees it
as requests close.
"""

import gc
import time

import structlog

PAUSE_LOG_S = 0.1  # a collection at least this long is logged as a warning
log = structlog.get_logger(__name__)
_started: dict[int, float] = {}


def freeze_recovered(reason: str) -> None:
    """Collect once, then move every object alive now out of the collector's way."""
    started = time.monotonic()
    gc.collect()
    gc.freeze()
    log.info("heap_frozen", reason=reason, objects=gc.get_freeze_count(),
             seconds=round(time.monotonic() - started, 3))


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
