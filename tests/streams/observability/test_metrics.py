"""A batch's tally: metric updates gathered per event, applied once."""

from prometheus_client import CollectorRegistry, Counter, Gauge

from civicflow.streams.observability import metrics


def test_a_tally_applies_each_events_updates_only_when_asked():
    registry = CollectorRegistry()
    events = Counter("t_events_total", "events", ["kind"], registry=registry)
    last = Gauge("t_last_seconds", "last", ["stage"], registry=registry)
    a = metrics.Updates(counters=(events.labels("a"), events.labels("all")), stamped=(last.labels("x"),))
    b = metrics.Updates(counters=(events.labels("b"), events.labels("all")))
    tally = metrics.Tally()
    for updates in (a, b, a):
        tally.add(updates)
    assert registry.get_sample_value("t_events_total", {"kind": "a"}) == 0, "nothing before apply"
    tally.apply(now=12.5)
    tally.apply(now=99.0)  # applied once: a second apply adds nothing and stamps nothing
    assert registry.get_sample_value("t_events_total", {"kind": "a"}) == 2
    assert registry.get_sample_value("t_events_total", {"kind": "b"}) == 1
    assert registry.get_sample_value("t_events_total", {"kind": "all"}) == 3, "a counter shared by two kinds"
    assert registry.get_sample_value("t_last_seconds", {"stage": "x"}) == 12.5, "stamped when applied"
