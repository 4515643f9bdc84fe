"""How far a consumer group has come: its committed offsets against the true ends of the topics."""

import time
from collections.abc import Callable

from civicflow.streams.kafka import offsets as kafka_offsets
from civicflow.streams.kafka import security as kafka_security

committed = kafka_offsets.committed
end_offsets = kafka_offsets.end_offsets


def wait_consumed(*, bootstrap_servers: str, security: kafka_security.ClientSecurity, group: str,
                  ends: dict[tuple[str, int], int], timeout_s: float, interval_s: float = 0.5,
                  on_progress: Callable[[dict], None] | None = None) -> None:
    """Block until the group has committed at least `ends` on every listed partition; `on_progress` gets the
    group's committed offsets ({(topic, partition): offset}) at every look."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = committed(bootstrap_servers=bootstrap_servers, security=security, group=group)
        if on_progress is not None:
            on_progress(done)
        if all(done.get(key, -1) >= end for key, end in ends.items() if end > 0):
            return
        time.sleep(interval_s)
    raise TimeoutError(f"group {group} did not consume {sorted({t for t, _ in ends})} within {timeout_s} s")
