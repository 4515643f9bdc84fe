"""`civicflow run` heals: the worker SIGKILLed while the demo feed sends requests is started again, the broker and
the other processes keep running, and every request submitted around the kill still gets exactly one intake
decision (routed, triaged, linked as a duplicate, or rejected). Ctrl-C then stops everything.

Issue 19: a SIGKILL of the worker under `make run` made the launcher stop everything within 10 s, the
memory-only broker with all its topics included, and nothing restarted a process."""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict

import pytest

from civicflow.services.broker import service as broker_service
from civicflow.services.sdk import consumer as sdk_consumer
from civicflow.streams.contracts import codec as contract_codec
from civicflow.streams.contracts import exceptions as contract_exceptions
from civicflow.streams.contracts import schemas as contract_schemas
from civicflow.streams.contracts import topics as contract_topics
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import REPO_ROOT

pytestmark = pytest.mark.integration

CODEC = contract_codec.from_url(None)
TOPICS = contract_topics.Topics()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _read(bootstrap: str, names: list[str]) -> list:
    return sdk_consumer.read_until(bootstrap_servers=bootstrap, security=kafka_security.PLAINTEXT, topics=names,
                                   until=lambda seen: True,
                                   timeout_s=15, settle_s=1.0)


def _submitted(bootstrap: str) -> set[str]:
    ids = set()
    for message in _read(bootstrap, [TOPICS.intake]):
        try:
            ids.add(CODEC.decode(contract_schemas.SUBMITTED, message.value)["request_id"])
        except contract_exceptions.ContractError:
            continue  # the demo's undecodable bytes: dead-lettered, no request id
    return ids


def _decisions(bootstrap: str) -> dict[str, set[str]]:
    """Request id → the distinct event ids of intake's decisions about it (a decision re-sent after a crash has the
    same event id): routed records, and rejected submissions (not refused updates)."""
    found = defaultdict(set)
    for message in _read(bootstrap, [TOPICS.routed, TOPICS.rejected]):
        subject = contract_schemas.ROUTED if message.topic == TOPICS.routed else contract_schemas.REJECTED
        record = CODEC.decode(subject, message.value)
        if message.topic == TOPICS.rejected and record.get("update") is not None:
            continue
        found[record["request_id"]].add(record["event_id"])
    return found


def test_a_killed_worker_is_restarted_and_every_request_ends_in_one_place(tmp_path):
    broker_port, web_port, api_port = (broker_service.free_port() for _ in range(3))
    bootstrap = f"127.0.0.1:{broker_port}"
    env = {**os.environ, "CIVICFLOW_BROKER_PORT": str(broker_port), "CIVICFLOW_WEB_PORT": str(web_port),
           "CIVICFLOW_API_PORT": str(api_port), "CIVICFLOW_DATA_DIR": str(tmp_path), "CIVICFLOW_LOG_FORMAT": "json",
           "CIVICFLOW_SESSION_TIMEOUT_S": "6"}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "CIVICFLOW_TOPIC_PREFIX"):
        env.pop(name, None)
    run = subprocess.Popen([sys.executable, "-m", "civicflow.services.cli", "run", "--rate", "20"], cwd=REPO_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []
    reader = threading.Thread(target=lambda: [lines.put(line) for line in run.stdout], daemon=True)
    reader.start()

    def wait_for_line(pattern: str, timeout_s: float) -> re.Match:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            output.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no line matching {pattern!r} within {timeout_s} s:\n{''.join(output[-30:])}")

    try:
        wait_for_line(r"Ctrl-C stops everything", 90)
        pids = {name: int(pid) for name, pid in re.findall(r"(\w+) \(pid (\d+)\)", "".join(output))}
        assert set(pids) == {"worker", "projection", "notifier", "api"}
        deadline = time.monotonic() + 60
        while len(_decisions(bootstrap)) < 10 and time.monotonic() < deadline:
            time.sleep(1)
        assert len(_decisions(bootstrap)) >= 10, "the worker routes the demo traffic before it is killed"

        os.kill(pids["worker"], signal.SIGKILL)
        wait_for_line(rf"worker \(pid {pids['worker']}\) exited with signal 9; restarting it", 15)
        restarted = int(wait_for_line(r"worker restarted \(pid (\d+)", 30).group(1))
        assert restarted != pids["worker"]
        assert run.poll() is None and _listening(broker_port), "the broker keeps running"
        for name in ("projection", "notifier", "api"):
            os.kill(pids[name], 0)  # still the same processes

        time.sleep(3)  # the feed goes on while the new worker joins
        submitted = _submitted(bootstrap)
        assert len(submitted) >= 40
        deadline = time.monotonic() + 90
        while True:
            decided = _decisions(bootstrap)
            missing = submitted - set(decided)
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert not missing, f"{len(missing)} of {len(submitted)} requests never got a decision"
        twice = {rid: ids for rid, ids in decided.items() if rid in submitted and len(ids) != 1}
        assert twice == {}, "each request has one decision (a decision re-sent after the kill keeps its event id)"
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(timeout=90)
        reader.join(timeout=10)
        while not lines.empty():
            output.append(lines.get())
    text = "".join(output)
    assert "stopped: no civicflow process left running" in text and run.returncode == 0, text[-3000:]
    for pid in (*pids.values(), restarted):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not any(_listening(port) for port in (broker_port, web_port, api_port))
    assert '"child_restarted"' in text or "child_restarted" in text, "the restart is logged"
