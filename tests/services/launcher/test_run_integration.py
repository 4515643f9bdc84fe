"""`civicflow run` (what `make run` calls) on its own embedded broker: requests reach the agencies, and Ctrl-C
stops everything, leaving no process and no listening port behind."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from civicflow.services.broker import service as broker_service
from civicflow.streams.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def _routed(metrics_url: str) -> float:
    try:
        with urllib.request.urlopen(metrics_url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "civicflow_requests_routed_total")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_run_routes_demo_traffic_and_ctrl_c_leaves_nothing_behind(tmp_path):
    broker_port, web_port, api_port = (broker_service.free_port() for _ in range(3))
    env = {**os.environ, "CIVICFLOW_BROKER_PORT": str(broker_port), "CIVICFLOW_WEB_PORT": str(web_port),
           "CIVICFLOW_API_PORT": str(api_port), "CIVICFLOW_DATA_DIR": str(tmp_path), "CIVICFLOW_LOG_FORMAT": "json"}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"):
        env.pop(name, None)
    run = subprocess.Popen([sys.executable, "-m", "civicflow.services.cli", "run", "--rate", "20"], cwd=REPO_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    banner = []
    for line in run.stdout:
        banner.append(line)
        if "Ctrl-C stops everything" in line:
            break
    text = "".join(banner)
    pids = {name: int(pid) for name, pid in re.findall(r"(\w+) \(pid (\d+)\)", text)}
    assert set(pids) == {"worker", "projection", "notifier", "api"}
    metrics_url = re.search(r"metrics\s+(http://\S+)", text).group(1)
    assert f"127.0.0.1:{broker_port} (embedded" in text and "work.nyc.nypd" in text

    deadline = time.monotonic() + 60
    while _routed(metrics_url) < 5 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _routed(metrics_url) >= 5, "demo requests reach the agencies"
    listed = []
    while not listed and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/open311/v2/requests.json", timeout=5) as page:
                listed = json.loads(page.read())
        except OSError:
            time.sleep(0.5)
    assert listed and listed[0]["service_request_id"], "the Open311 API lists the demo's requests"

    run.send_signal(signal.SIGINT)
    out, _ = run.communicate(timeout=60)
    assert "stopped: no civicflow process left running" in out
    assert run.returncode == 0
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not any(_listening(port) for port in (broker_port, web_port, api_port))
