"""The API's metrics: requests by endpoint, method and status class, response time, and the api stage's
in/out/rejected figures; /metrics serves them (and the process's others) for Prometheus."""

import time

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.observability import metrics

STAGE = "api"


def instrument(app: FastAPI) -> None:
    """Count and time every request; serve /metrics."""

    metrics.zero(STAGE, outcomes=("2xx", "4xx", "5xx"), reasons=("400", "403", "404"), dead_letters=())

    @app.middleware("http")
    async def observe(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        endpoint = getattr(route, "path", "unmatched")
        status_class = f"{response.status_code // 100}xx"
        seconds = time.perf_counter() - started
        metrics.API_REQUESTS.labels(endpoint, request.method, status_class).inc()
        metrics.API_SECONDS.labels(endpoint).observe(seconds)
        if endpoint != "/metrics":
            metrics.stage_in(STAGE).inc()
            metrics.stage_out(STAGE, status_class).inc()
            metrics.stage_seconds(STAGE).observe(seconds)
            metrics.stage_last(STAGE).set(time.time())
            if 400 <= response.status_code < 500:
                metrics.rejected(STAGE, str(response.status_code)).inc()
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics_page() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
