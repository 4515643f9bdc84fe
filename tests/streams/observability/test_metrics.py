"""A batch's tally: metric updates gathered per event, applied once."""

from prometheus_client import CollectorRegistry, Counter, Gauge

from streams.observability import metrics


def test_a_tally_applies_its_counts_and_the_last_values_only_when_asked():
    registry = CollectorRegistry()
    events = Counter("t_events_total", "events", ["kind"], registry=registry)
    last = Gauge("t_last_seconds", "last", registry=registry)
    tally = metrics.Tally()
    for kind in ("a", "b", "a"):
        tally.inc(events.labels(kind))
        tally.set(last, {"a": 1.0, "b": 2.0}[kind])
    assert registry.get_sample_value("t_events_total", {"kind": "a"}) == 0, "nothing before apply"
    tally.apply()
    tally.apply()  # applied once: a second apply adds nothing
    assert registry.get_sample_value("t_events_total", {"kind": "a"}) == 2
    assert registry.get_sample_value("t_events_total", {"kind": "b"}) == 1
    assert registry.get_sample_value("t_last_seconds") == 1.0, "the last value set wins"
