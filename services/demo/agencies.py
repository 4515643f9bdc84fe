"""Demo agencies: they take the work routed to them and move it through its lifecycle, at a demo's pace.

Each request is acknowledged within seconds, worked on, sometimes put on hold, resolved and closed within a
couple of minutes; a few are transferred to another agency, and a few get an update that is not allowed, so
rejections show too. Updates go through the SDK, like a real agency's.
"""

import heapq
import itertools
import random
import threading
import time
from collections import Counter
from datetime import datetime, timezone

import structlog

from civicflow.services.sdk.dedupe import SeenEvents

log = structlog.get_logger(__name__)
TRANSFERS = {"NYPD": "DOT", "DOT": "DPR", "DPR": "DSNY", "DSNY": "DPR", "DOF": "DCA", "DCA": "DOF",
             "DOHMH": "DSNY", "DHS": "DFTA", "DFTA": "DHS", "TLC": "DCA"}


class DemoAgencies:
    """Reads every agency work topic and plays each agency's part."""

    def __init__(self, *, consumer, updates, seed: int | None = None, pace: float = 1.0) -> None:
        self.consumer = consumer       # a KafkaConsumer subscribed to the work topics (decoded by `decode`)
        self.updates = updates         # an UpdateProducer
        self.random = random.Random(seed)
        self.pace = pace               # seconds of demo per second of plan
        self.sent = Counter()
        self._plan: list = []
        self._order = itertools.count()
        self._seen = SeenEvents(capacity=100_000)

    def plan(self, request: dict, *, now: float) -> None:
        """Schedule the agency's updates for a request that just arrived on its work topic."""
        if not self._seen.first_time(request["event_id"]):
            return
        agency, at = request["routing"]["agency"], now + self.random.uniform(2, 15) * self.pace
        roll = self.random.random()
        steps = [("acknowledged", agency, {})]
        if roll < 0.03:
            steps.append(("transferred", agency, {"to_agency": TRANSFERS.get(agency, "DOT")}))
            agency = TRANSFERS.get(agency, "DOT")
        steps.append(("in_progress", agency, {}))
        if 0.03 <= roll < 0.10:
            steps += [("on_hold", agency, {"note": "waiting for access to the site"}), ("in_progress", agency, {})]
        steps += [("resolved", agency, {"note": "The condition was corrected."}), ("closed", agency, {})]
        if 0.10 <= roll < 0.13:
            steps.append(("in_progress", agency, {}))  # not allowed after closing: rejected with a reason
        for status, sender, extra in steps:
            heapq.heappush(self._plan, (at, next(self._order), request, status, sender, extra))
            at += self.random.uniform(3, 40) * self.pace

    def send_due(self, *, now: float) -> int:
        """Send every update whose time has come; returns how many."""
        sent = 0
        while self._plan and self._plan[0][0] <= now:
            _, _, request, status, sender, extra = heapq.heappop(self._plan)
            self.updates.send(request_id=request["request_id"], status=status, agency=sender,
                              jurisdiction_id=request["jurisdiction_id"], occurred_at=datetime.now(timezone.utc),
                              external_id=request["request"]["external_id"], **extra)
            self.sent[status] += 1
            sent += 1
        return sent

    def run(self, *, stop: threading.Event, decode) -> Counter:
        """Until stop: read new work, send what is due."""
        while not stop.is_set():
            for records in self.consumer.poll(timeout_ms=200).values():
                for message in records:
                    request = decode(message.value)
                    if request is not None:
                        self.plan(request, now=time.monotonic())
            self.send_due(now=time.monotonic())
        self.updates.flush()
        return self.sent
