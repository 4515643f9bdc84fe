"""The monitoring configuration under deploy/: Prometheus (scrape configs, rules and their unit tests),
Alertmanager, Grafana provisioning and dashboards.

Always run: the files parse, dashboards have unique uids and titles, and every metric name a PromQL expression
uses (dashboards and rules) is one the platform's metric registry exposes, so a renamed metric fails here.
With promtool on PATH (`make promtool` installs Debian's prometheus package, which has it): promtool checks the
configs and rules, runs the rules' unit tests (deploy/prometheus/rules/civicflow_test.yml), and evaluates every
dashboard expression on synthetic series of every metric, expecting a non-empty answer.
"""

import importlib
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
CONFIGS = {"compose": PROMETHEUS / "prometheus.yml", "kubernetes": PROMETHEUS / "prometheus-kubernetes.yml"}
RULES = PROMETHEUS / "rules" / "civicflow.yml"
RULE_TESTS = PROMETHEUS / "rules" / "civicflow_test.yml"
ALERTMANAGER = PROMETHEUS / "alertmanager.yml"
GRAFANA = ROOT / "deploy" / "grafana"
DATASOURCES = sorted((GRAFANA / "provisioning" / "datasources").glob("*.yml"))
PROVIDERS = sorted((GRAFANA / "provisioning" / "dashboards").glob("*.yml"))
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

# The modules that define the platform's metrics (importing them registers the metrics in REGISTRY).
METRIC_MODULES = ("civicflow.streams.observability.metrics", "civicflow.services.readmodel.service")
SEVERITIES = {"page", "ticket"}
# Alerts the rules' unit tests must show firing (besides the quiet test, where nothing fires).
MUST_FIRE = {"CivicflowDeadLetters", "CivicflowWorkerDown", "CivicflowSLAErrorBudgetBurn"}

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not on PATH: `make promtool` installs it (Debian's prometheus package, "
                             "as root with apt-get); its checks are skipped")

# An identifier of PromQL (metric or recording rule name), not part of a longer one or of a duration.
IDENTIFIER = re.compile(r"(?<![A-Za-z0-9_:.$])[A-Za-z_:][A-Za-z0-9_:]*")


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def rules() -> list[dict]:
    return [rule for group in load_yaml(RULES)["groups"] for rule in group["rules"]]


def alerts() -> list[dict]:
    return [rule for rule in rules() if "alert" in rule]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def dashboard_expressions(dashboard: dict) -> list[tuple[str, str]]:
    """(where, PromQL or variable query) for every panel target and template variable of a dashboard."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            where = node.get("title") or node.get("name") or where
            for key, value in node.items():
                if key in ("expr", "definition") and isinstance(value, str) and value:
                    found.append((where, value))
                elif key == "query" and isinstance(value, dict) and value.get("query"):
                    found.append((where, value["query"]))
                else:
                    walk(value, where)
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(dashboard.get("panels", []), "panels")
    walk(dashboard.get("templating", {}), "templating")
    return found


def rule_expressions() -> list[tuple[str, str]]:
    """(rule, text) for every rule's expression and its annotations (which name metrics in their advice)."""
    found = []
    for rule in rules():
        name = rule.get("alert") or rule.get("record")
        found.append((name, rule["expr"]))
        found.extend((f"{name} {key}", text) for key, text in rule.get("annotations", {}).items())
    return found


def expressions_of(source: str) -> list[tuple[str, str]]:
    if source == RULES.name:
        return rule_expressions()
    return dashboard_expressions(json.loads((GRAFANA / "dashboards" / source).read_text()))


@pytest.fixture(scope="module")
def families() -> dict:
    """The platform's metric families by name (counters without `_total`, as prometheus_client names them)."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    return {family.name: family for family in REGISTRY.collect() if family.name.startswith("civicflow_")}


@pytest.fixture(scope="module")
def label_names(families) -> dict[str, tuple[str, ...]]:
    """{family name: its label names}, from the metric objects the metric modules define."""
    found = {}
    for module in METRIC_MODULES:
        for value in vars(importlib.import_module(module)).values():
            if isinstance(value, MetricWrapperBase):
                for family in value.describe():
                    found[family.name] = tuple(value._labelnames)  # prometheus_client has no public accessor
    return found


@pytest.fixture(scope="module")
def exposed(families) -> set[str]:
    """The names of the series the platform exposes, as PromQL selects them."""
    names = set()
    for name, family in families.items():
        if family.type == "counter":
            names.add(f"{name}_total")
        elif family.type == "histogram":
            names.update(f"{name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        elif family.type == "summary":
            names.update(f"{name}{suffix}" for suffix in ("", "_sum", "_count"))
        else:
            names.add(name)
    return names


# ---- always: files parse ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [*CONFIGS.values(), RULES, RULE_TESTS, ALERTMANAGER, *DATASOURCES, *PROVIDERS],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_yaml_parses(path):
    assert isinstance(load_yaml(path), dict)


def test_the_three_dashboards_exist():
    assert len(DASHBOARDS) >= 3
    uids = {json.loads(p.read_text())["uid"] for p in DASHBOARDS}
    assert {"civicflow-pipeline", "civicflow-sla", "civicflow-equity"} <= uids


def test_dashboards_parse_with_unique_uids_and_titles():
    boards = [json.loads(path.read_text()) for path in DASHBOARDS]
    uids = [board.get("uid") for board in boards]
    titles = [board.get("title") for board in boards]
    assert all(uids) and all(titles), "every dashboard needs a uid and a title"
    assert len(set(uids)) == len(uids), f"duplicate uid: {uids}"
    assert len(set(titles)) == len(titles), f"duplicate title: {titles}"
    for uid in uids:  # Grafana's limits: 40 characters, no slashes
        assert len(uid) <= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", uid), uid


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_panels_query_the_provisioned_datasource(path):
    board = json.loads(path.read_text())
    datasource_uids = {ds["uid"] for f in DATASOURCES for ds in load_yaml(f)["datasources"]}
    assert board.get("id") is None, "provisioned dashboards carry no database id"
    assert board["schemaVersion"] >= 36
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert panels
    ids = [p["id"] for p in board["panels"]]
    assert len(set(ids)) == len(ids), f"duplicate panel ids in {path.name}"
    for panel in panels:
        assert panel.get("gridPos") and panel.get("title"), panel
        assert panel["targets"], f"{panel['title']}: no query"
        for target in panel["targets"]:
            assert target["expr"].strip(), f"{panel['title']}: empty expression"
            assert target["datasource"]["uid"] in datasource_uids, f"{panel['title']}: unknown datasource"
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] in datasource_uids, variable["name"]


@pytest.mark.parametrize("source", [RULES.name, *(p.name for p in DASHBOARDS)])
def test_every_metric_named_exists(source, exposed):
    """A civicflow_ name in a dashboard or rule is a series the platform's registry exposes (renames fail)."""
    unknown = sorted({f"{name} (in {where})" for where, text in expressions_of(source)
                      for name in IDENTIFIER.findall(text)
                      if name.startswith("civicflow_") and name not in exposed})
    assert not unknown, (f"{source} uses metric names the platform does not expose (renamed? see "
                         f"streams/observability/metrics.py): {unknown}")


@pytest.mark.parametrize("source", [RULES.name, *(p.name for p in DASHBOARDS)])
def test_every_recording_rule_used_is_defined(source):
    defined = recorded_names()
    unknown = sorted({f"{name} (in {where})" for where, text in expressions_of(source)
                      for name in IDENTIFIER.findall(text)
                      if ":" in name and "civicflow" in name and name not in defined})
    assert not unknown, f"{source} uses recording rules {RULES.name} does not define: {unknown}"


def test_the_metric_check_would_catch_a_rename(exposed):
    assert "civicflow_stage_events_in_total" in exposed
    assert "civicflow_time_to_resolve_seconds_bucket" in exposed
    assert "civicflow_projection_records_applied_total" in exposed
    text = "sum(rate(civicflow_stage_events_taken_total[5m])) / sum(rate(civicflow_sla_met_total[5m]))"
    used = [n for n in IDENTIFIER.findall(text) if n.startswith("civicflow_")]
    assert [n for n in used if n not in exposed] == ["civicflow_stage_events_taken_total"]
    assert not [n for n in IDENTIFIER.findall("rate(x[10m:1m]) $__rate_interval") if n.startswith("civicflow_")]


# ---- always: what the files say ------------------------------------------------------------------------------

def test_compose_config_scrapes_every_process():
    config = load_yaml(CONFIGS["compose"])
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    workers = [sd for job in jobs.values() for sd in job.get("dns_sd_configs", [])]
    assert workers == [{"names": ["worker"], "type": "A", "port": 6066, "refresh_interval": "30s"}]
    static = {target for job in jobs.values() for sc in job.get("static_configs", []) for target in sc["targets"]}
    assert {"projection:6266", "notifier:6366", "api:8311"} <= static
    components = set()
    for job in jobs.values():
        components.update(sc.get("labels", {}).get("component") for sc in job.get("static_configs", []))
        components.update(rc.get("replacement") for rc in job.get("relabel_configs", [])
                          if rc.get("target_label") == "component")
    assert {"worker", "projection", "notifier", "api"} <= components
    targets = [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert targets == ["alertmanager:9093"]


@pytest.mark.parametrize("name", CONFIGS)
def test_configs_load_the_rules_and_not_their_unit_tests(name):
    config = load_yaml(CONFIGS[name])
    files = [p for pattern in config["rule_files"] for p in CONFIGS[name].parent.glob(pattern)]
    assert RULES in files
    assert RULE_TESTS not in files, "the unit-test file is not a rule file: Prometheus would refuse it"


def test_kubernetes_config_discovers_civicflow_pods():
    config = load_yaml(CONFIGS["kubernetes"])
    job = next(job for job in config["scrape_configs"] if job.get("kubernetes_sd_configs"))
    assert job["kubernetes_sd_configs"] == [{"role": "pod"}]
    relabels = job["relabel_configs"]
    assert {"source_labels": ["__meta_kubernetes_pod_label_app"], "regex": "civicflow", "action": "keep"} in relabels
    address = next(r for r in relabels if r.get("target_label") == "__address__")
    assert "__meta_kubernetes_pod_annotation_prometheus_io_port" in address["source_labels"]
    regex = re.compile(address["regex"])
    assert regex.fullmatch("10.1.2.3;6066").expand(address["replacement"].replace("$", "\\")) == "10.1.2.3:6066"
    assert any(r.get("target_label") == "component" and r["source_labels"] == ["__meta_kubernetes_pod_label_component"]
               for r in relabels)


def test_alerts_have_a_routed_severity_and_runbook_annotations():
    receivers = {r["name"] for r in load_yaml(ALERTMANAGER)["receivers"]}
    route = load_yaml(ALERTMANAGER)["route"]
    routed = {m.split("=", 1)[1].strip('"'): r["receiver"] for r in route["routes"] for m in r["matchers"]
              if m.startswith("severity=")}
    assert set(routed) == SEVERITIES and set(routed.values()) <= receivers and route["receiver"] in receivers
    uids = {json.loads(p.read_text())["uid"] for p in DASHBOARDS}
    for alert in alerts():
        assert alert["labels"]["severity"] in SEVERITIES, alert["alert"]
        annotations = alert["annotations"]
        assert len(annotations.get("summary", "")) > 10, alert["alert"]
        assert len(annotations.get("description", "")) > 100, f"{alert['alert']}: the description is its runbook"
        if "dashboard" in annotations:
            assert annotations["dashboard"].removeprefix("/d/") in uids, alert["alert"]


def test_datasource_and_dashboard_provider():
    datasources = [ds for f in DATASOURCES for ds in load_yaml(f)["datasources"]]
    assert [(ds["type"], ds["url"]) for ds in datasources] == [("prometheus", "http://prometheus:9090")]
    providers = [p for f in PROVIDERS for p in load_yaml(f)["providers"]]
    assert providers and all(p["type"] == "file" and p["options"]["path"] for p in providers)


def test_rule_unit_tests_cover_every_alert():
    """The first unit test is a healthy platform in which no alert fires; others show the key alerts firing."""
    tests = load_yaml(RULE_TESTS)["tests"]
    quiet = tests[0]
    silent = {case["alertname"] for case in quiet["alert_rule_test"] if case["exp_alerts"] == []}
    assert all(case["exp_alerts"] == [] for case in quiet["alert_rule_test"]), "the quiet test expects alerts"
    assert silent == {alert["alert"] for alert in alerts()}, "the quiet test must list every alert"
    fired = {case["alertname"] for test in tests[1:] for case in test.get("alert_rule_test", [])
             if case["exp_alerts"]}
    assert MUST_FIRE <= fired


# ---- with promtool ----------------------------------------------------------------------------------------------

def promtool(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def assert_ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, f"{' '.join(result.args)}:\n{result.stdout}\n{result.stderr}"


@needs_promtool
def test_promtool_check_config_compose():
    assert_ok(promtool("check", "config", str(CONFIGS["compose"])))


@needs_promtool
def test_promtool_check_config_kubernetes():
    result = promtool("check", "config", str(CONFIGS["kubernetes"]))
    if result.returncode and "kubernetes_sd_configs not found" in result.stdout + result.stderr:
        pytest.skip("this promtool was built without Kubernetes service discovery (Debian's prometheus package "
                    "is): test_promtool_check_config_kubernetes_without_discovery checks the rest")
    assert_ok(result)


@needs_promtool
def test_promtool_check_config_kubernetes_without_discovery(tmp_path):
    """The Kubernetes config, its discovery swapped for a static target: relabelling and the rest are checked."""
    config = load_yaml(CONFIGS["kubernetes"])
    for job in config["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None):
            job["static_configs"] = [{"targets": ["127.0.0.1:6066"]}]
    config["rule_files"] = [str(CONFIGS["kubernetes"].parent / pattern) for pattern in config["rule_files"]]
    copy = tmp_path / "prometheus-kubernetes.yml"
    copy.write_text(yaml.safe_dump(config))
    assert_ok(promtool("check", "config", str(copy)))


@needs_promtool
def test_promtool_check_rules():
    assert_ok(promtool("check", "rules", str(RULES)))


@needs_promtool
def test_promtool_rule_unit_tests():
    assert_ok(promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent))


# Label values for the synthetic series: the real ones where the code has a fixed set.
LABEL_VALUES = {
    "stage": ["validate", "enrich", "route", "lifecycle", "sla", "projection", "api", "notify"],
    "state": ["on_track", "warned", "breached", "paused"], "goal": ["acknowledge", "resolve"],
    "status_class": ["2xx", "4xx", "5xx"], "layer": ["borough", "community_district"],
    "jurisdiction": ["nyc"], "group": ["civicflow", "civicflow-readmodel", "civicflow-notifier"],
    "agency": ["DSNY", "NYPD"], "district": ["Brooklyn", "Queens"],
}
VARIABLES = {"$__rate_interval": "5m", "$window": "1h", "$agency": ".*", "$stage": ".*",
             "$jurisdiction": ".*", "$layer": "borough"}


def synthetic_series(families: dict, label_names: dict) -> list[dict]:
    """Two and a half hours of every metric at one-minute steps, every label with two or more values."""
    target = 'job="civicflow-worker", instance="w1:6066", component="worker"'
    series = [{"series": f"up{{{target}}}", "values": "1x150"},
              {"series": 'up{job="civicflow-worker", instance="w2:6066", component="worker"}', "values": "1 0x149"}]
    series += [{"series": f'up{{job="civicflow-{c}", instance="{c}:1", component="{c}"}}', "values": "1x150"}
               for c in ("projection", "notifier", "api")]
    for name, family in sorted(families.items()):
        labels = label_names.get(name, ())
        for values in itertools.product(*(LABEL_VALUES.get(label, ["a", "b"]) for label in labels)):
            selector = ", ".join([target, *(f'{k}="{v}"' for k, v in zip(labels, values))])
            if family.type == "counter":
                series.append({"series": f"{name}_total{{{selector}}}", "values": "0+1x150"})
            elif family.type == "histogram":
                for le, step in (("1", 1), ("100", 2), ("+Inf", 3)):
                    series.append({"series": f'{name}_bucket{{{selector}, le="{le}"}}', "values": f"0+{step}x150"})
                series.append({"series": f"{name}_count{{{selector}}}", "values": "0+3x150"})
                series.append({"series": f"{name}_sum{{{selector}}}", "values": "0+60x150"})
            elif name.endswith("_timestamp_seconds"):
                series.append({"series": f"{name}{{{selector}}}", "values": "0+60x150"})
            else:
                series.append({"series": f"{name}{{{selector}}}", "values": "3x150"})
    return series


def as_instant_query(text: str) -> str:
    """A dashboard expression with Grafana's variables filled in; label_values(m, l) as count by (l) (m)."""
    for variable, value in VARIABLES.items():
        text = text.replace(variable, value)
    match = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", text, re.S)
    return f"count by ({match[2]}) ({match[1]})" if match else text


@needs_promtool
def test_dashboard_expressions_evaluate_to_data(families, label_names, tmp_path):
    """Every dashboard query parses and answers something on synthetic series of every metric."""
    queries = {}
    for path in DASHBOARDS:
        for i, (where, text) in enumerate(dashboard_expressions(json.loads(path.read_text()))):
            queries[f"Dashboard_{path.stem.replace('-', '_')}_{i}"] = (f"{path.name}: {where}", as_instant_query(text))
    (tmp_path / "dashboards.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": [
        {"alert": name, "expr": f"absent({expr})"} for name, (_, expr) in queries.items()]}]}))
    (tmp_path / "test.yml").write_text(yaml.safe_dump({
        "rule_files": [str(RULES), "dashboards.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": synthetic_series(families, label_names),
                   "alert_rule_test": [{"eval_time": "150m", "alertname": name, "exp_alerts": []}
                                       for name in queries]}]}))
    result = promtool("test", "rules", "test.yml", cwd=tmp_path)
    output = result.stdout + result.stderr
    failing = [f"{where}: {expr}" for name, (where, expr) in queries.items()
               if re.search(rf"\b{name}\b", output)]
    assert result.returncode == 0, "dashboard queries that fail or answer nothing:\n" + "\n".join(failing) + \
        f"\n\n{output[-4000:]}"
