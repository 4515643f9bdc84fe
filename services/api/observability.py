"""The API's metrics: requests by endpoint, method and status class, response time, and the api stage's
in/out/rejected figures; /metrics serves them (and the process's others) for Prometheus.

Every response is counted, the spec's error answers and the 500 of an unexpected error included: the counting
middleware is the outermost layer of the app, and it answers an error no handler took itself (Starlette's own
catch-all sits outside every middleware, so a 500 answered there was never counted and the API's 5xx alert could
not fire).
"""

import time
from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicflow.streams.observability import metrics

STAGE = "api"


def instrument(app: FastAPI, *, unexpected: Callable[[Request, Exception], Response]) -> None:
    """Count and time every request; answer an unexpected error with `unexpected` (a 500 in the spec's format);
    serve /metrics."""

    metrics.zero(STAGE, outcomes=("2xx", "4xx", "5xx"), reasons=("400", "403", "404"), dead_letters=())
    app.add_middleware(CountingMiddleware, unexpected=unexpected)

    @app.get("/metrics", include_in_schema=False)
    def metrics_page() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class CountingMiddleware:
    """Counts the status every HTTP response started with; an exception that escaped the app before its response
    started is answered by `unexpected` and counted as what that answers (500)."""

    def __init__(self, app: ASGIApp, *, unexpected: Callable[[Request, Exception], Response]) -> None:
        self.app = app
        self.unexpected = unexpected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def counted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted_send)
        except Exception as error:
            if status is not None:  # the answer had begun: nothing else can be said, it is still counted
                raise
            response = self.unexpected(Request(scope, receive), error)
            await response(scope, receive, counted_send)
        finally:
            _count(scope, status if status is not None else 500, time.perf_counter() - started)


def _count(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("route")
    endpoint = getattr(route, "path", "unmatched")
    status_class = f"{status // 100}xx"
    metrics.API_REQUESTS.labels(endpoint, scope.get("method", "GET"), status_class).inc()
    metrics.API_SECONDS.labels(endpoint).observe(seconds)
    if endpoint != "/metrics":
        metrics.stage_in(STAGE).inc()
        metrics.stage_out(STAGE, status_class).inc()
        metrics.stage_seconds(STAGE).observe(seconds)
        metrics.stage_last(STAGE).set(time.time())
        if 400 <= status < 500:
            metrics.rejected(STAGE, str(status)).inc()
