"""`civicflow submit --wait` and `civicflow update --wait` against a running worker: each prints what became of
what it sent (routed with the agency, accepted with the new status, or refused with the reasons) and exits
non-zero on a refusal."""

import json
import subprocess
import sys

import pytest

from civicflow.services.launcher import service as launcher
from civicflow.streams import worker as stream_worker
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import REPO_ROOT

pytestmark = pytest.mark.integration

NOISE = {"service_code": "noise-residential", "lat": 40.7580, "long": -73.9855, "channel": "mobile",
         "attribute": {"descriptor": "loud-music-party"}, "description": "party upstairs"}
BROKEN = {**NOISE, "description": "<script>alert(1)</script>", "address_string": "<b>Times Square</b>"}


def civicflow(settings, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicflow.services.cli", *args], env=launcher.worker_env(settings),
                          cwd=REPO_ROOT, input=stdin, capture_output=True, text=True, timeout=150)


def lines_of(done: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_submit_and_update_wait_for_the_platforms_answer(platform_settings, start_worker):
    settings = platform_settings()
    stream_worker.ensure_topics(settings, jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir))
    start_worker(settings)

    both = civicflow(settings, "submit", "-", "--wait", stdin=f"{json.dumps(NOISE)}\n{json.dumps(BROKEN)}\n")
    routed, refused = lines_of(both)
    assert routed["outcome"] == "routed" and routed["agency"] == "NYPD", both.stderr
    assert refused["outcome"] == "refused"
    assert {r["code"] for r in refused["reasons"]} == {"description_html", "text_html"}
    assert both.returncode == 1, "a refusal makes the command fail"

    alone = civicflow(settings, "submit", "-", "--wait", stdin=json.dumps(NOISE) + "\n")
    [accepted_request] = lines_of(alone)
    assert alone.returncode == 0 and accepted_request["outcome"] in ("routed", "duplicate")

    request_id = routed["request_id"]
    acknowledged = civicflow(settings, "update", request_id, "acknowledged", "--agency", "NYPD", "--wait")
    [line] = lines_of(acknowledged)
    assert (line["outcome"], line["new_status"], acknowledged.returncode) == ("accepted", "acknowledged", 0)

    stranger = civicflow(settings, "update", request_id, "closed", "--agency", "DOT", "--wait")
    [line] = lines_of(stranger)
    assert line["outcome"] == "refused" and [r["code"] for r in line["reasons"]] == ["not_owner"]
    assert stranger.returncode == 1

    backdated = civicflow(settings, "update", request_id, "resolved", "--agency", "NYPD", "--at",
                          "1900-01-01T00:00:00+00:00", "--wait")
    [line] = lines_of(backdated)
    assert [r["code"] for r in line["reasons"]] == ["update_before_submission"] and backdated.returncode == 1
