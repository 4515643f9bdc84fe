"""A steady stream of NYC requests, about one in ten broken on purpose, to show every outcome."""

import random
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone

import structlog

from civicflow.services.demo import nyc311
from civicflow.services.sdk import exceptions as sdk_exceptions
from civicflow.services.sdk import requests as sdk_requests
from civicflow.streams.validation import checks as validation_checks

log = structlog.get_logger(__name__)

_FIRST_NAMES = ("Ana", "Luis", "Mei", "Kwame", "Olga", "Sam", "Priya", "Jamal")
_OUTSIDE = {"lat": 39.9526, "long": -75.1652}  # Philadelphia City Hall


def _unknown_service(request):
    request["service_code"] = "not-a-service"


def _html(request):
    request["description"] = "<b>Help</b> <script>alert(1)</script>"


def _outside(request):
    request.update(_OUTSIDE)
    request.pop("address_string", None)


def _half_location(request):
    request["lat"] = 40.7128
    request.pop("long", None)


def _bad_media(request):
    request["media_url"] = "ftp://photos.example/pothole.jpg"


def _bad_attribute(request):
    request.setdefault("attributes", {})["descriptor"] = "no-such-descriptor"


def _too_long(request):
    request["description"] = "pothole " * 600


BREAKERS = (_unknown_service, _html, _outside, _half_location, _bad_media, _bad_attribute, _too_long)


def _valid(format_name: str, row: dict, jurisdiction) -> bool:
    """A row that live intake accepts (the rules intake applies): some real rows name a service outside the
    catalog, a descriptor the catalog does not list, or no location for a service that needs one."""
    try:
        record = sdk_requests.to_record(nyc311.to_request(row, jurisdiction=jurisdiction, format_name=format_name))
    except (ValueError, sdk_exceptions.SubmissionError):
        return False
    return not validation_checks.validate(submission=record, jurisdictions={jurisdiction.id: jurisdiction},
                                          key=sdk_requests.partition_key(record), now=record["submitted_at"])


class DemoFeed:
    """Submits requests at `rate` per second: valid ones, broken ones, resubmissions and a few raw bytes."""

    def __init__(self, *, producer, jurisdiction, rate: float = 5.0, broken_fraction: float = 0.1,
                 seed: int | None = None) -> None:
        self.producer = producer
        self.jurisdiction = jurisdiction
        self.rate = rate
        self.broken_fraction = broken_fraction
        self.random = random.Random(seed)
        # Rows of all three NYC files that make a valid request: a few real rows have no location for a service
        # that needs one, or a service outside the catalog.
        self.rows = [(name, row) for name, row in nyc311.demo_rows() if _valid(name, row, jurisdiction)]
        self.sent = Counter()
        self._recent: list[dict] = []  # valid requests a frontend might send again (a retry, a double click)

    def next_request(self) -> tuple[str, dict | bytes]:
        """One demo item: ('valid'|'broken'|'resubmitted', request) or ('raw', bytes)."""
        roll = self.random.random()
        if roll < 0.01:
            return "raw", b"\x00\x00\x00" + self.random.randbytes(12)
        if roll < 0.03 and self._recent:
            return "resubmitted", dict(self.random.choice(self._recent))
        request = self._request(idempotency_key=str(uuid.uuid4()))
        if roll < 0.03 + self.broken_fraction:
            self.random.choice(BREAKERS)(request)
            return "broken", request
        self._recent = (self._recent + [dict(request)])[-50:]
        return "valid", request

    def _request(self, *, idempotency_key: str) -> dict:
        format_name, row = self.random.choice(self.rows)
        request = nyc311.shifted(row, jurisdiction=self.jurisdiction, now=datetime.now(timezone.utc),
                                 format_name=format_name)
        request["idempotency_key"] = idempotency_key
        if "lat" in request:  # near the row's place, not on it: repeats of a row are not all duplicates
            request["lat"], request["long"] = self._near(request["lat"], request["long"])
        if self.random.random() < 0.4:
            request.update(self._contact())
            if self.random.random() < 0.25:
                request["language"] = "es-US"  # Spanish templates exist: the citizen is answered in Spanish
        return request

    def _near(self, lat: float, lon: float) -> tuple[float, float]:
        for _ in range(10):
            moved = lat + self.random.uniform(-0.002, 0.002), lon + self.random.uniform(-0.002, 0.002)
            if self.jurisdiction.geography.contains(lat=moved[0], lon=moved[1]):
                return moved
        return lat, lon

    def _contact(self) -> dict:
        """A made-up citizen (example.org addresses, 555-01xx numbers): shows where contact details flow."""
        n = self.random.randrange(100)
        return {"first_name": self.random.choice(_FIRST_NAMES), "email": f"resident{n}@example.org",
                "phone": f"+1 212 555 01{n:02d}"}

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
