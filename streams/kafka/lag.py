"""Consumer lag of the platform's consumer groups, exported as a gauge per group, topic and partition.

A background thread in each worker reads the groups' committed offsets and the topics' true end offsets every
interval. Several workers export the same series; dashboards take the max.
"""

import threading

import structlog

from civicflow.streams.kafka import offsets as kafka_offsets
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.observability import metrics

log = structlog.get_logger(__name__)


def lag(*, bootstrap_servers: str, security: kafka_security.ClientSecurity, group: str) -> dict[tuple[str, int], int]:
    """{(topic, partition): records the group has not committed yet} for the topics it has committed on."""
    done = kafka_offsets.committed(bootstrap_servers=bootstrap_servers, security=security, group=group)
    if not done:
        return {}
    ends = kafka_offsets.end_offsets(bootstrap_servers=bootstrap_servers, security=security,
                                     topics=sorted({t for t, _ in done}))
    return {key: max(0, end - done.get(key, 0)) for key, end in ends.items()}


class LagMonitor(threading.Thread):
    """Refreshes civicflow_consumer_lag_messages every interval until stopped."""

    def __init__(self, *, bootstrap_servers: str, security: kafka_security.ClientSecurity, groups: list[str],
                 interval_s: float) -> None:
        super().__init__(name="civicflow-lag-monitor", daemon=True)
        self.bootstrap_servers = bootstrap_servers
        self.security = security
        self.groups = groups
        self.interval_s = interval_s
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval_s):
            for group in self.groups:
                try:
                    for (topic, partition), behind in lag(bootstrap_servers=self.bootstrap_servers,
                                                          security=self.security,
                                                          group=group).items():
                        metrics.CONSUMER_LAG.labels(group, topic, str(partition)).set(behind)
                except Exception as error:  # the broker may be restarting: try again next time
                    log.warning("consumer_lag_unavailable", group=group, error=str(error))
