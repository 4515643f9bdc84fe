"""What each command's --help says after its options: the environment variables it reads and examples.

The variables' meanings come from streams/settings.py (each field documents its variable and default), so the
help and the settings cannot drift apart.
"""

BROKER = ("KAFKA_BOOTSTRAP_SERVERS", "CIVICFLOW_BROKER_KIND", "CIVICFLOW_TOPIC_PREFIX", "SCHEMA_REGISTRY_URL")
WORKER = (*BROKER, "CIVICFLOW_APP_ID", "CIVICFLOW_AGENTS", "CIVICFLOW_PARTITIONS", "CIVICFLOW_REPLICATION_FACTOR",
          "CIVICFLOW_JURISDICTIONS_DIR", "CIVICFLOW_WEB_HOST", "CIVICFLOW_WEB_PORT", "CIVICFLOW_DATA_DIR",
          "CIVICFLOW_CLOCK", "CIVICFLOW_LOG_FORMAT", "CIVICFLOW_LOG_LEVEL")

# Variables read outside streams/settings.py: name -> meaning.
OTHER = {
    "CIVICFLOW_REPORT_MIN_COUNT": "fewest closed requests a group needs to be ranked (20).",
}

COMMANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # command: (variables, examples)
    "civicflow": (("KAFKA_BOOTSTRAP_SERVERS", "CIVICFLOW_DATA_DIR", "CIVICFLOW_JURISDICTIONS_DIR"),
                  ("civicflow run", "civicflow tail requests.routed --offset beginning --exit",
                   "civicflow replay nyc311_sample_2011.csv --json outcomes.jsonl")),
    "run": (("KAFKA_BOOTSTRAP_SERVERS", "CIVICFLOW_BROKER_HOST", "CIVICFLOW_BROKER_PORT", "CIVICFLOW_WEB_PORT",
             "CIVICFLOW_API_HOST", "CIVICFLOW_API_PORT", "CIVICFLOW_DATA_DIR", "CIVICFLOW_JURISDICTIONS_DIR",
             "DATABASE_URL", "CIVICFLOW_API_KEYS"),
            ("civicflow run", "CIVICFLOW_BROKER_PORT=19092 CIVICFLOW_API_PORT=18311 civicflow run --rate 2")),
    "worker": (WORKER, ("KAFKA_BOOTSTRAP_SERVERS=kafka-0:9092 CIVICFLOW_REPLICATION_FACTOR=3 civicflow worker",)),
    "projection": ((*BROKER, "DATABASE_URL", "CIVICFLOW_DATA_DIR", "CIVICFLOW_WEB_PORT"),
                   ("DATABASE_URL=postgresql+psycopg://civicflow@postgres/civicflow civicflow projection",)),
    "api": ((*BROKER, "CIVICFLOW_API_HOST", "CIVICFLOW_API_PORT", "CIVICFLOW_API_KEYS", "DATABASE_URL",
             "CIVICFLOW_JURISDICTIONS_DIR"),
            ("CIVICFLOW_API_PORT=8080 civicflow api   # then open http://127.0.0.1:8080/open311/v2/docs",)),
    "notifier": ((*BROKER, "CIVICFLOW_NOTIFICATIONS_FILE", "CIVICFLOW_DATA_DIR", "CIVICFLOW_WEB_PORT"),
                 ("CIVICFLOW_NOTIFICATIONS_FILE=/var/spool/civicflow/outbox.jsonl civicflow notifier",)),
    "broker": (("CIVICFLOW_BROKER_HOST", "CIVICFLOW_BROKER_PORT", "CIVICFLOW_DATA_DIR"),
               ("civicflow broker --port 19092", "civicflow broker --kafka")),
    "submit": (BROKER, ("civicflow submit requests.jsonl --wait",
                        "echo '{\"service_code\": \"noise-residential\", \"lat\": 40.758, \"long\": -73.9855}' "
                        "| civicflow submit - --wait")),
    "update": (BROKER, ("civicflow update REQUEST_ID acknowledged --agency NYPD --wait",
                        "civicflow update REQUEST_ID resolved --agency DSNY --at 2026-12-04T10:00:00-05:00")),
    "tail": (BROKER, ("civicflow tail requests.routed", "civicflow tail work.nyc.nypd --offset beginning --exit",
                      "civicflow tail requests.dead_letter --partition 3 --offset 100 --max 5 --format table",
                      "civicflow tail requests.routed --key REQUEST_ID --offset beginning --exit")),
    "replay": ((*BROKER, "CIVICFLOW_DATA_DIR", "CIVICFLOW_JURISDICTIONS_DIR", "DATABASE_URL"),
               ("civicflow replay nyc311_sample_2011.csv --json outcomes.jsonl",
                "civicflow replay export.csv --mapping my-city.yaml --check")),
    "report": (("DATABASE_URL", "CIVICFLOW_DATA_DIR", "CIVICFLOW_JURISDICTIONS_DIR", "CIVICFLOW_REPORT_MIN_COUNT"),
               ("civicflow report --start 2011-03-01 --end 2011-04-01",
                "civicflow report RUN.sqlite3 --html report.html")),
    "topics": (("CIVICFLOW_TOPIC_PREFIX", "CIVICFLOW_JURISDICTIONS_DIR", "CIVICFLOW_APP_ID"), ("civicflow topics",)),
    "bench": (("CIVICFLOW_DATA_DIR",), ("civicflow bench --requests 5000 --latency-seconds 5",)),
    "jurisdiction": ((), ("civicflow jurisdiction check deploy/jurisdictions/nyc",)),
    "jurisdiction draft": ((), ("civicflow jurisdiction draft export.csv --format nyc311 --out my-city "
                                "--boundaries districts=districts.geojson",)),
    "jurisdiction check": ((), ("civicflow jurisdiction check my-city",)),
}


def meaning(variable: str) -> str:
    """The variable's meaning and default, from its settings field."""
    from civicflow.streams.settings import Settings

    if variable in OTHER:
        return OTHER[variable]
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else name.upper()
        if alias == variable:
            return (field.description or "").removeprefix(f"[{variable}]").strip()
    raise KeyError(f"{variable} is neither a setting nor listed in OTHER")


def epilog(command: str) -> str:
    """The text after a command's options."""
    variables, examples = COMMANDS[command]
    lines = []
    if variables:
        lines.append("environment variables:")
        lines += [f"  {variable:<30} {_first_sentence(meaning(variable))}" for variable in variables]
    else:
        lines.append("environment variables: none")
    lines.append("")
    lines.append("examples:" if len(examples) > 1 else "example:")
    lines += [f"  {example}" for example in examples]
    return "\n".join(lines)


def _first_sentence(text: str, *, limit: int = 110) -> str:
    cut = text.split(". ")[0].rstrip(".")
    return cut if len(cut) <= limit else cut[: limit - 1] + "…"
