"""The API counts and times its requests by endpoint and status class, and serves /metrics."""

from prometheus_client.parser import text_string_to_metric_families


def _samples(client) -> dict:
    text = client.get("/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_requests_are_counted_by_endpoint_method_and_status_class(client):
    before = _samples(client)
    client.get("/open311/v2/services.json")
    client.get("/open311/v2/requests/nope.json")
    after = _samples(client)
    ok = ("civicflow_api_requests_total", (("endpoint", "/open311/v2/services.json"), ("method", "GET"),
                                           ("status_class", "2xx")))
    assert after[ok] == before.get(ok, 0) + 1
    missing = [k for k in after if k[0] == "civicflow_api_requests_total" and ("status_class", "4xx") in k[1]]
    assert missing, "the unknown request is counted as a 4xx"
    rejected = ("civicflow_stage_events_rejected_total", (("reason", "404"), ("stage", "api")))
    assert after[rejected] >= 1
    assert any(name == "civicflow_api_request_duration_seconds_count" for name, _ in after)
