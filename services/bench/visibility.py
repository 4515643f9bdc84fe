"""Bench: how soon an agency's status change is visible through the Open311 API, at the demo's rate.

A worker, the projection and the API run on their own topics; demo traffic flows at 5 requests/s; for a sample
of routed requests an agency closes the request and the API is polled until it says closed.
"""

import json
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

from civicflow.services.broker import service as broker_service
from civicflow.services.demo.feed import DemoFeed
from civicflow.services.launcher import service as launcher
from civicflow.services.sdk.producer import RequestProducer
from civicflow.services.sdk.updates import UpdateProducer
from civicflow.streams import worker as stream_worker
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import Settings


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _open_nypd_request(base: str, jurisdiction, seen: set) -> str | None:
    name = jurisdiction.agency_names["NYPD"].name
    for row in _get(f"{base}/requests.json?status=open"):
        if row.get("agency_responsible") == name and row["service_request_id"] not in seen:
            return row["service_request_id"]
    return None


def main(*, bootstrap: str, data_dir: Path, samples: int = 25) -> dict:
    """Returns visibility_p50_ms, visibility_max_ms and the number of samples."""
    api_port = broker_service.free_port()
    settings = Settings(kafka_bootstrap_servers=bootstrap, broker_kind="embedded", topic_prefix="visibility.",
                        app_id="bench-visibility", data_dir=data_dir / "visibility",
                        database_url=f"sqlite:///{data_dir / 'visibility.sqlite3'}", log_format="json",
                        log_level="WARNING", api_port=api_port, notifications=False)
    (data_dir / "visibility.sqlite3").unlink(missing_ok=True)
    jurisdiction = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)["nyc"]
    stream_worker.ensure_topics(settings, {"nyc": jurisdiction})
    topics, codec = contract_topics.Topics(prefix=settings.topic_prefix), contract_codec.from_url(None)
    processes = [launcher.start_worker(settings, web_port=broker_service.free_port(),
                                       log_path=settings.data_dir / "worker.log")]
    processes += [launcher.start_process([sys.executable, "-m", "civicflow.services.cli", name],
                                         env=launcher.worker_env(settings,
                                                                 CIVICFLOW_WEB_PORT=str(broker_service.free_port())),
                                         log_path=settings.data_dir / f"{name}.log") for name in ("projection", "api")]
    stop, base = threading.Event(), f"http://127.0.0.1:{api_port}/open311/v2"
    producer = RequestProducer(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, topics=topics,
                               codec=codec)
    feed = threading.Thread(target=DemoFeed(producer=producer, jurisdiction=jurisdiction, rate=5.0, seed=1).run,
                            kwargs={"stop": stop}, daemon=True)
    updates = UpdateProducer(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, topics=topics, codec=codec)
    waits, seen = [], set()
    try:
        feed.start()
        deadline = time.monotonic() + 300
        while len(waits) < samples and time.monotonic() < deadline:
            try:
                request_id = _open_nypd_request(base, jurisdiction, seen)
            except OSError:
                request_id = None
            if request_id is None:
                time.sleep(0.5)
                continue
            seen.add(request_id)
            started = time.monotonic()
            updates.send(request_id=request_id, status="closed", agency="NYPD", note="bench")[1].get(timeout=10)
            while time.monotonic() - started < 10 and _get(f"{base}/requests/{request_id}.json")[0]["status"] != "closed":
                time.sleep(0.02)
            waits.append((time.monotonic() - started) * 1000)
    finally:
        stop.set()
        feed.join(timeout=5)
        producer.close()
        updates.close()
        for process in reversed(processes):
            launcher.stop_process(process)
    return {"visibility_samples": len(waits), "visibility_p50_ms": round(statistics.median(waits), 1) if waits else None,
            "visibility_max_ms": round(max(waits), 1) if waits else None}
