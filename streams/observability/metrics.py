"""Prometheus metrics of the stream agents (prefix civicflow_, base units, small label sets)."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_IN = Counter("civicflow_agent_events_in_total", "Events an agent read from its input topic.", ["agent"])
EVENTS_OUT = Counter("civicflow_agent_events_out_total",
                     "Events an agent finished, by outcome (routed, duplicate, triage, rejected, dead_lettered).",
                     ["agent", "outcome"])
REJECTED = Counter("civicflow_agent_events_rejected_total", "Events an agent rejected, by reason code.",
                   ["agent", "reason"])
DEAD_LETTERED = Counter("civicflow_agent_events_dead_lettered_total",
                        "Events an agent could not decode and dead-lettered, by reason code.", ["agent", "reason"])
LAST_PROCESSED = Gauge("civicflow_agent_last_processed_timestamp_seconds",
                       "Unix time at which the agent last finished an event.", ["agent"])
INTAKE_TO_ROUTED = Histogram(
    "civicflow_intake_to_routed_seconds",
    "Time from a submission's append to the intake topic to its routing decision being sent.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ROUTED = Counter("civicflow_requests_routed_total", "Requests routed, by jurisdiction, agency and channel.",
                 ["jurisdiction", "agency", "channel"])

_routed_children: dict[tuple[str, str, str], object] = {}


def routed(*, jurisdiction: str, agency: str, channel: str):
    """The ROUTED child for these labels (looked up once per label set: this runs for every request)."""
    labels = (jurisdiction, agency, channel)
    child = _routed_children.get(labels)
    if child is None:
        child = _routed_children[labels] = ROUTED.labels(*labels)
    return child

TIMERS_OPEN = Gauge("civicflow_sla_timers_open", "SLA timers (next thresholds, parked updates, closed requests to "
                    "forget) this worker holds for the partitions it owns.")
