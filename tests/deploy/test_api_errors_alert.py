"""The API's 5xx alert fires on the series the API really serves: the API answers 500s (a read model without its
tables), its /metrics is scraped, and promtool runs CivicflowAPIErrors over those series as Prometheus would have
scraped them, minute by minute (issue 19: the 500s were answered outside the counting middleware, so no 5xx
series existed and the alert could never fire)."""

import shutil
import subprocess

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from civicflow.services.api.service import create_app
from civicflow.services.readmodel import db
from civicflow.streams.jurisdiction import loader as jurisdiction_loader
from civicflow.streams.settings import REPO_ROOT, Settings

RULES = REPO_ROOT / "deploy" / "prometheus" / "rules" / "civicflow.yml"
PROMTOOL = shutil.which("promtool")
TARGET = {"job": "civicflow-api", "instance": "api:8311", "component": "api"}


def _api_request_series(client: TestClient) -> dict[str, float]:
    """{series selector: value} of civicflow_api_requests_total as /metrics serves it, with the scrape's labels."""
    found = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "civicflow_api_requests_total":
                labels = {**sample.labels, **TARGET}
                selector = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                found[f"civicflow_api_requests_total{{{selector}}}"] = sample.value
    return found


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not on PATH (make tools installs it)")
def test_500s_the_api_answers_make_the_5xx_alert_fire(tmp_path):
    jurisdictions = jurisdiction_loader.load_jurisdictions(Settings().jurisdictions_dir)
    engine = db.engine_for(f"sqlite:///{tmp_path / 'no-tables.sqlite3'}")
    app = create_app(settings=Settings(), jurisdictions=jurisdictions, engine=engine, submit=lambda r: None,
                     send_update=lambda r: None, post_wait_s=0.1)
    client = TestClient(app, raise_server_exceptions=False)
    before = _api_request_series(client)
    assert client.get("/open311/v2/services.json").status_code == 200
    for _ in range(3):
        assert client.get("/open311/v2/requests.json").status_code == 500
    after = _api_request_series(client)
    engine.dispose()
    grown = {series: after[series] - before.get(series, 0.0) for series in after
             if after[series] > before.get(series, 0.0)}
    assert any('status_class="5xx"' in series for series in grown), f"no 5xx series served: {sorted(after)}"

    # Thirty minutes of traffic in the proportions just served (1 good answer for 3 server errors), one scrape a
    # minute: the alert fires once its condition held for its 5 minutes.
    step = {series: increase * 60 for series, increase in grown.items()}
    test = {"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": series, "values": f"0+{per_minute:g}x30"} for series, per_minute in step.items()],
        "alert_rule_test": [
            {"eval_time": "3m", "alertname": "CivicflowAPIErrors", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "CivicflowAPIErrors", "exp_alerts": [{
                "exp_labels": {"severity": "page"},
                "exp_annotations": _annotations("CivicflowAPIErrors")}]}]}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test))
    result = subprocess.run([PROMTOOL, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def _annotations(alert: str) -> dict:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                return {k: " ".join(v.split()) if k == "description" else v for k, v in rule["annotations"].items()}
    raise AssertionError(f"no alert {alert}")
