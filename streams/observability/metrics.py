"""The platform's Prometheus metrics: prefix civicflow_, base units (seconds), `_total` on counters, small fixed
label sets (never request ids). README's metrics catalogue lists them with the process that serves each.

Stages: validate, enrich, route (the intake agent), lifecycle and sla (the lifecycle agent), projection (the
read model), api (the Open311 API), notify (the notification sender).
"""

import time
from collections import Counter as Counts
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

DURATION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# time to acknowledge or resolve: a minute to a quarter
SERVICE_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 5 * 86400, 10 * 86400,
                   30 * 86400, 90 * 86400)

# ---- per stage ----------------------------------------------------------------------------------------------
STAGE_IN = Counter("civicflow_stage_events_in_total", "Events a stage took in.", ["stage"])
STAGE_OUT = Counter("civicflow_stage_events_out_total", "Events a stage finished, by outcome.", ["stage", "outcome"])
STAGE_REJECTED = Counter("civicflow_stage_events_rejected_total",
                         "Events a stage refused, by reason code (the README lists them).", ["stage", "reason"])
STAGE_DEAD_LETTERED = Counter("civicflow_stage_events_dead_lettered_total",
                              "Events a stage could not decode or process, kept with their raw bytes, by reason code.",
                              ["stage", "reason"])
STAGE_SECONDS = Histogram("civicflow_stage_duration_seconds", "Processing time of one event in a stage.", ["stage"],
                          buckets=DURATION_BUCKETS)
STAGE_LAST = Gauge("civicflow_stage_last_processed_timestamp_seconds",
                   "Unix time at which the stage last finished an event.", ["stage"])

# ---- end to end and Kafka -----------------------------------------------------------------------------------
INTAKE_TO_ROUTED = Histogram(
    "civicflow_intake_to_routed_seconds",
    "Time from a submission's append to the intake topic to its routing decision being sent.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ROUTED = Counter("civicflow_requests_routed_total", "Requests routed, by jurisdiction, agency and channel.",
                 ["jurisdiction", "agency", "channel"])
CONSUMER_LAG = Gauge("civicflow_consumer_lag_messages", "Records not yet committed by a consumer group, per topic "
                     "and partition (true end offset minus committed offset).", ["group", "topic", "partition"])

# ---- service outcomes -----------------------------------------------------------------------------------------
OPEN_REQUESTS = Gauge("civicflow_sla_open_requests", "Open requests of the partitions this worker owns, by agency "
                      "and SLA state (on_track, warned, breached, paused).", ["agency", "state"])
WARNINGS = Counter("civicflow_sla_warnings_total", "SLA warnings, by agency, service group and goal.",
                   ["agency", "service_group", "goal"])
BREACHES = Counter("civicflow_sla_breaches_total", "SLA breaches, by agency, service group and goal.",
                   ["agency", "service_group", "goal"])
GOALS_MET = Counter("civicflow_sla_met_total", "SLA goals met, by agency, service group and goal.",
                    ["agency", "service_group", "goal"])
TIME_TO_ACKNOWLEDGE = Histogram("civicflow_time_to_acknowledge_seconds",
                                "From submission to the agency's first response, by agency.", ["agency"],
                                buckets=SERVICE_BUCKETS)
TIME_TO_RESOLVE = Histogram("civicflow_time_to_resolve_seconds",
                            "From submission to resolved (or closed), by agency.", ["agency"], buckets=SERVICE_BUCKETS)
TIMERS_OPEN = Gauge("civicflow_sla_timers_open", "SLA timers (next thresholds, parked updates, closed requests to "
                    "forget) this worker holds for the partitions it owns.")

# ---- equity: bounded labels from the jurisdiction's configuration ------------------------------------------
RESOLVE_BY_DISTRICT = Histogram("civicflow_time_to_resolve_by_district_seconds",
                                "From submission to resolved, by boundary layer and district.",
                                ["jurisdiction", "layer", "district"], buckets=SERVICE_BUCKETS)
RESOLVE_BY_CHANNEL = Histogram("civicflow_time_to_resolve_by_channel_seconds",
                               "From submission to resolved, by intake channel.", ["jurisdiction", "channel"],
                               buckets=SERVICE_BUCKETS)

# ---- API ----------------------------------------------------------------------------------------------------
API_REQUESTS = Counter("civicflow_api_requests_total", "Open311 API requests, by endpoint, method and status class.",
                       ["endpoint", "method", "status_class"])
API_SECONDS = Histogram("civicflow_api_request_duration_seconds", "Open311 API response time, by endpoint.",
                        ["endpoint"], buckets=DURATION_BUCKETS)

# ---- notifications ------------------------------------------------------------------------------------------
NOTIFICATIONS_DELIVERED = Counter("civicflow_notifications_delivered_total",
                                  "Citizen notifications delivered, by channel and kind.", ["channel", "kind"])


class Children:
    """Label children looked up once per label set (labels() costs microseconds; hot paths run per event)."""

    def __init__(self, metric) -> None:
        self.metric = metric
        self._children: dict[tuple, object] = {}

    def __call__(self, *labels: str):
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self.metric.labels(*labels)
        return child


@dataclass(frozen=True)
class Updates:
    """The counter increments and last-processed stamps that one kind of event makes."""

    counters: tuple = ()  # label children, each incremented by 1 per event
    stamped: tuple = ()   # gauge children set to the time the tally is applied


class Tally:
    """Events' metric updates gathered over a batch and applied once at its end (each update of a metric takes
    a lock): an event costs one count of its Updates, however many counters it moves."""

    def __init__(self) -> None:
        self.events: Counts = Counts()

    def add(self, updates: Updates) -> None:
        self.events[updates] += 1

    def apply(self, now: float | None = None) -> None:
        """Increment every counter by its events and stamp the gauges with `now` (default: the time now)."""
        counts: Counts = Counts()
        stamped = set()
        for updates, events in self.events.items():
            for child in updates.counters:
                counts[child] += events
            stamped.update(updates.stamped)
        stamp = time.time() if now is None else now
        for child, amount in counts.items():
            child.inc(amount)
        for child in stamped:
            child.set(stamp)
        self.events.clear()


stage_in, stage_out, stage_seconds, stage_last = (Children(STAGE_IN), Children(STAGE_OUT), Children(STAGE_SECONDS),
                                                  Children(STAGE_LAST))
rejected, dead_lettered = Children(STAGE_REJECTED), Children(STAGE_DEAD_LETTERED)
routed = Children(ROUTED)

DEAD_LETTER_CODES = ("empty_message", "unknown_magic_byte", "truncated_header", "unknown_schema_id",
                     "schema_not_readable", "malformed_avro", "processing_error")


def zero(stage: str, *, outcomes=(), reasons=(), dead_letters=DEAD_LETTER_CODES) -> None:
    """Create a stage's known series at 0, so rates and increases see their first events."""
    stage_in(stage)
    for outcome in outcomes:
        stage_out(stage, outcome)
    for reason in reasons:
        rejected(stage, reason)
    for code in dead_letters:
        dead_lettered(stage, code)
