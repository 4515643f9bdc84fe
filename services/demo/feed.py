"""A steady stream of NYC requests, about one in ten broken on purpose, to show every outcome."""

import random
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone

import structlog

from services.demo import nyc311
from services.sdk import exceptions as sdk_exceptions

log = structlog.get_logger(__name__)

_OUTSIDE = {"lat": 39.9526, "long": -75.1652}  # Philadelphia City Hall


def _unknown_service(request):
    request["service_code"] = "not-a-service"


def _html(request):
    request["description"] = "<b>Help</b> <script>alert(1)</script>"


def _outside(request):
    request.update(_OUTSIDE)
    request.pop("address_string", None)


def _no_location(request):
    for name in ("lat", "long", "address_string", "address_id"):
        request.pop(name, None)


def _bad_media(request):
    request["media_url"] = "ftp://photos.example/pothole.jpg"


def _bad_attribute(request):
    request.setdefault("attributes", {})["descriptor"] = "no-such-descriptor"


def _too_long(request):
    request["description"] = "pothole " * 600


BREAKERS = (_unknown_service, _html, _outside, _no_location, _bad_media, _bad_attribute, _too_long)


class DemoFeed:
    """Submits requests at `rate` per second: valid ones, broken ones, resubmissions and a few raw bytes."""

    def __init__(self, *, producer, jurisdiction, rate: float = 5.0, broken_fraction: float = 0.1,
                 seed: int | None = None) -> None:
        self.producer = producer
        self.jurisdiction = jurisdiction
        self.rate = rate
        self.broken_fraction = broken_fraction
        self.random = random.Random(seed)
        self.rows = nyc311.read_rows()
        self.sent = Counter()
        self._recent_keys: list[str] = []

    def next_request(self) -> tuple[str, dict | bytes]:
        """One demo item: ('valid'|'broken'|'resubmitted', request) or ('raw', bytes)."""
        roll = self.random.random()
        if roll < 0.01:
            return "raw", b"\x00\x00\x00" + self.random.randbytes(12)
        if roll < 0.03 and self._recent_keys:
            return "resubmitted", self._request(idempotency_key=self.random.choice(self._recent_keys))
        request = self._request(idempotency_key=str(uuid.uuid4()))
        if roll < 0.03 + self.broken_fraction:
            self.random.choice(BREAKERS)(request)
            return "broken", request
        self._recent_keys = (self._recent_keys + [request["idempotency_key"]])[-50:]
        return "valid", request

    def _request(self, *, idempotency_key: str) -> dict:
        row = self.random.choice(self.rows)
        request = nyc311.shifted(row, jurisdiction=self.jurisdiction, now=datetime.now(timezone.utc))
        request["idempotency_key"] = idempotency_key
        return request

    def submit_one(self) -> str:
        """Produce one item; returns its kind."""
        kind, item = self.next_request()
        if kind == "raw":
            self.producer.send_raw(key=b"demo", value=item)
        else:
            try:
                self.producer.submit(item)
            except sdk_exceptions.SubmissionError as error:
                log.warning("demo_request_refused_by_sdk", error=str(error))
                kind = "refused"
        self.sent[kind] += 1
        return kind

    def run(self, *, stop: threading.Event, limit: int | None = None) -> Counter:
        """Submit until `stop` is set (or `limit` items), pacing at `rate` per second."""
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not stop.is_set() and (limit is None or sum(self.sent.values()) < limit):
            self.submit_one()
            next_at += interval
            stop.wait(max(0.0, next_at - time.monotonic()))
        self.producer.flush()
        return self.sent
