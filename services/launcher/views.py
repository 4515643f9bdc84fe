"""What `civicflow run` prints: where things run and how to look at them."""

from urllib.request import urlopen

from prometheus_client.parser import text_string_to_metric_families


def banner(*, broker: str, embedded: bool, children: dict, metrics_url: str, logs_dir: str, rate: float,
           api_url: str, outbox: str, read_model: str, specs: list) -> str:
    """The start-up summary."""
    lines = [
        "",
        "civicflow is running",
        f"  broker        {broker} ({'embedded, memory only' if embedded else 'KAFKA_BOOTSTRAP_SERVERS'})",
        "  processes     " + ", ".join(f"{name} (pid {child.pid})" for name, child in children.items()),
        f"  logs          {logs_dir}/<process>.log",
        f"  metrics       {metrics_url}",
        f"  Open311 API   {api_url}requests.json  (services.xml, discovery.json, docs at {api_url}docs)",
        f"  read model    {read_model}",
        f"  citizen mail  {outbox}",
        f"  demo feed     {rate:g} NYC requests/s, about 1 in 10 broken on purpose; demo agencies work them",
        "  topics",
    ]
    lines += [f"    {spec.name:<40} {spec.consumers}" for spec in specs]
    lines += [
        "  look at them",
        "    .venv/bin/civicflow tail requests.routed            # every accepted request",
        "    .venv/bin/civicflow tail work.nyc.nypd               # one agency's work",
        "    .venv/bin/civicflow tail requests.rejected           # what was refused, with reasons",
        "    .venv/bin/civicflow tail requests.dead_letter --from-beginning",
        "    .venv/bin/civicflow tail requests.lifecycle          # acknowledgements, resolutions, SLA warnings",
        f"    curl '{api_url}requests.json?status=open'",
        "  Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def progress(*, metrics_url: str, sent: dict, updates: dict) -> str:
    """Two lines: what the feed and the demo agencies sent, and what the worker's agents did with it."""
    done: dict[str, dict[str, int]] = {}
    try:
        with urlopen(metrics_url, timeout=2) as response:
            text = response.read().decode()
    except OSError as error:
        return f"sent {dict(sent)}; metrics unavailable ({error})"
    for family in text_string_to_metric_families(text):
        if family.name == "civicflow_stage_events_out":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.value:
                    done.setdefault(sample.labels["stage"], {})[sample.labels["outcome"]] = int(sample.value)
    return (f"sent {dict(sorted(sent.items()))}, agency updates {sum(updates.values())}\n"
            + "\n".join(f"  {stage:<9} {dict(sorted(done[stage].items()))}"
                        for stage in ("validate", "route", "lifecycle", "sla") if stage in done))
