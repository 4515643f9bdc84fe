"""Typed, frozen settings read once from the environment.

Every setting names its environment variable and its default.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from civicflow.streams import resources

# Where the code is: the checkout's root for tests and tools that need the repository (tests, the deploy files'
# checks). Runtime defaults come from streams/resources.py instead, which also works for an installed wheel.
REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """civicflow configuration (environment variables in brackets)."""

    # An empty variable is an unset one: deploy/compose.yaml passes ${VAR:-} for the optional ones.
    model_config = SettingsConfigDict(frozen=True, env_prefix="", case_sensitive=False, populate_by_name=True,
                                      env_ignore_empty=True)

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        description="[KAFKA_BOOTSTRAP_SERVERS] Kafka cluster, host:port[,host:port]. "
        "Unset: the embedded broker on embedded_broker_host:embedded_broker_port.",
    )
    broker_kind: str | None = Field(
        default=None, pattern="^(embedded|kafka)$", validation_alias="CIVICFLOW_BROKER_KIND",
        description="[CIVICFLOW_BROKER_KIND] what the cluster is: embedded (the Tansu broker, whose protocol gaps "
        "streams/kafka corrects) or kafka (Apache Kafka, or any complete implementation: no corrections). "
        "Unset: embedded without KAFKA_BOOTSTRAP_SERVERS, kafka with it.",
    )
    processing_guarantee: str = Field(
        default="at_least_once", pattern="^(at_least_once|exactly_once)$",
        validation_alias="CIVICFLOW_PROCESSING_GUARANTEE",
        description="[CIVICFLOW_PROCESSING_GUARANTEE] at_least_once (the default, and the only mode on the embedded "
        "broker: a crash re-emits records with the same event ids, which consumers drop) or exactly_once (Apache "
        "Kafka: the agents' outputs, changelog writes and input offsets commit in one Kafka transaction per input "
        "partition; readers use isolation_level=read_committed). A worker asked for exactly_once on a broker "
        "without transactions refuses to start.",
    )
    embedded_broker_host: str = Field(default="127.0.0.1", validation_alias="CIVICFLOW_BROKER_HOST",
                                      description="[CIVICFLOW_BROKER_HOST] host of the embedded broker (127.0.0.1).")
    embedded_broker_port: int = Field(default=9092, validation_alias="CIVICFLOW_BROKER_PORT",
                                      description="[CIVICFLOW_BROKER_PORT] port of the embedded broker (9092).")
    kafka_security_protocol: str = Field(
        default="PLAINTEXT", pattern="^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$",
        validation_alias="CIVICFLOW_KAFKA_SECURITY_PROTOCOL",
        description="[CIVICFLOW_KAFKA_SECURITY_PROTOCOL] how every Kafka client of every process connects: "
        "PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL.")
    kafka_sasl_mechanism: str = Field(
        default="SCRAM-SHA-512", pattern="^(PLAIN|SCRAM-SHA-256|SCRAM-SHA-512)$",
        validation_alias="CIVICFLOW_KAFKA_SASL_MECHANISM",
        description="[CIVICFLOW_KAFKA_SASL_MECHANISM] SASL mechanism with SASL_*: PLAIN, SCRAM-SHA-256 or "
        "SCRAM-SHA-512 (default).")
    kafka_sasl_username: str | None = Field(
        default=None, validation_alias="CIVICFLOW_KAFKA_SASL_USERNAME",
        description="[CIVICFLOW_KAFKA_SASL_USERNAME] the SASL user (the principal User:<name>); required with SASL_*.")
    kafka_sasl_password: str | None = Field(
        default=None, repr=False, validation_alias="CIVICFLOW_KAFKA_SASL_PASSWORD",
        description="[CIVICFLOW_KAFKA_SASL_PASSWORD] the SASL password (unset: read from "
        "CIVICFLOW_KAFKA_SASL_PASSWORD_FILE).")
    kafka_sasl_password_file: Path | None = Field(
        default=None, validation_alias="CIVICFLOW_KAFKA_SASL_PASSWORD_FILE",
        description="[CIVICFLOW_KAFKA_SASL_PASSWORD_FILE] a file holding the SASL password (a mounted secret; one "
        "trailing newline is ignored). Unset.")
    kafka_ssl_ca_file: Path | None = Field(
        default=None, validation_alias="CIVICFLOW_KAFKA_SSL_CA_FILE",
        description="[CIVICFLOW_KAFKA_SSL_CA_FILE] PEM file of the CA(s) that signed the brokers' certificates, "
        "with SSL/SASL_SSL (unset: the system's trusted CAs).")
    kafka_ssl_cert_file: Path | None = Field(
        default=None, validation_alias="CIVICFLOW_KAFKA_SSL_CERT_FILE",
        description="[CIVICFLOW_KAFKA_SSL_CERT_FILE] PEM client certificate, for brokers that require TLS client "
        "authentication (unset: none).")
    kafka_ssl_key_file: Path | None = Field(
        default=None, validation_alias="CIVICFLOW_KAFKA_SSL_KEY_FILE",
        description="[CIVICFLOW_KAFKA_SSL_KEY_FILE] PEM private key of the client certificate (unset: in the "
        "certificate file).")
    kafka_ssl_check_hostname: bool = Field(
        default=True, validation_alias="CIVICFLOW_KAFKA_SSL_CHECK_HOSTNAME",
        description="[CIVICFLOW_KAFKA_SSL_CHECK_HOSTNAME] whether a broker's certificate must name the host "
        "connected to (true).")
    schema_registry_url: str | None = Field(
        default=None,
        description="[SCHEMA_REGISTRY_URL] Confluent-compatible Schema Registry. "
        "Unset: the schema ids pinned in schemas/registry.json.",
    )
    schema_registry_basic_auth_user_info: str | None = Field(
        default=None, repr=False, validation_alias="SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO",
        description="[SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO] user:password for the registry's HTTP basic "
        "authentication (unset: read from SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE, else none).")
    schema_registry_basic_auth_user_info_file: Path | None = Field(
        default=None, validation_alias="SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE",
        description="[SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO_FILE] a file holding user:password (a mounted secret). "
        "Unset.")
    schema_registry_ca_file: Path | None = Field(
        default=None, validation_alias="SCHEMA_REGISTRY_CA_FILE",
        description="[SCHEMA_REGISTRY_CA_FILE] PEM file of the CA that signed an https registry's certificate "
        "(unset: the system's trusted CAs).")
    app_id: str = Field(default="civicflow", validation_alias="CIVICFLOW_APP_ID",
                        description="[CIVICFLOW_APP_ID] Faust app id and consumer group (civicflow). "
                        "Keep it stable: state topics and committed offsets belong to it.")
    topic_prefix: str = Field(default="", validation_alias="CIVICFLOW_TOPIC_PREFIX",
                              description="[CIVICFLOW_TOPIC_PREFIX] prefix of every topic name ('' ); "
                              "lets several platforms or test runs share one cluster.")
    partitions: int = Field(default=8, ge=1, validation_alias="CIVICFLOW_PARTITIONS",
                            description="[CIVICFLOW_PARTITIONS] partitions of topics the platform creates (8).")
    replication_factor: int = Field(default=1, ge=1, validation_alias="CIVICFLOW_REPLICATION_FACTOR",
                                    description="[CIVICFLOW_REPLICATION_FACTOR] replication of created topics (1; "
                                    "use 3 on a production cluster).")
    topic_min_insync_replicas: int | None = Field(
        default=None, ge=1, validation_alias="CIVICFLOW_TOPIC_MIN_INSYNC_REPLICAS",
        description="[CIVICFLOW_TOPIC_MIN_INSYNC_REPLICAS] min.insync.replicas of created topics: how many replicas "
        "must hold a write before an acks=all producer is told it is written. Unset: the cluster's default (1 on "
        "Apache Kafka); use 2 with a replication factor of 3, so that a write acknowledged survives the loss of "
        "any one broker and the topic stays writable while one is down. At most the replication factor.",
    )
    producer_acks: str = Field(
        default="all", pattern="^(all|1|0)$", validation_alias="CIVICFLOW_PRODUCER_ACKS",
        description="[CIVICFLOW_PRODUCER_ACKS] acknowledgements the workers' and replays' producers wait for (all: "
        "every in-sync replica, at least min.insync.replicas of them; 1: the leader alone, a write it "
        "acknowledged is lost if it dies before a follower copied it; 0: none). all, as Faust's own default.",
    )
    jurisdictions_dir: Path = Field(default_factory=lambda: resources.path("jurisdictions"),
                                    validation_alias="CIVICFLOW_JURISDICTIONS_DIR",
                                    description="[CIVICFLOW_JURISDICTIONS_DIR] one sub-directory per jurisdiction "
                                    "(deploy/jurisdictions; in an installed package, its NYC jurisdiction).")
    web_host: str = Field(default="127.0.0.1", validation_alias="CIVICFLOW_WEB_HOST",
                          description="[CIVICFLOW_WEB_HOST] address a worker's /metrics listens on (127.0.0.1; "
                          "0.0.0.0 in containers).")
    web_port: int = Field(default=6066, validation_alias="CIVICFLOW_WEB_PORT",
                          description="[CIVICFLOW_WEB_PORT] first port tried for a worker's /metrics (6066); "
                          "a second worker takes the next free one.")
    data_dir: Path = Field(default_factory=resources.default_data_dir, validation_alias="CIVICFLOW_DATA_DIR",
                           description="[CIVICFLOW_DATA_DIR] worker scratch space (.civicflow in the checkout; "
                           ".civicflow in the working directory for an installed package).")
    table_store: str | None = Field(
        default=None, pattern="^(memory|rocksdb)$", validation_alias="CIVICFLOW_TABLE_STORE",
        description="[CIVICFLOW_TABLE_STORE] where a worker keeps the lifecycle table: rocksdb keeps request states "
        "on local disk under the data directory, one directory per worker, so a restarted worker reads only the "
        "changelog written since its last write and holds only its timers in memory; memory keeps them in the "
        "process and recovers the whole changelog at every start. Unset: rocksdb on Apache Kafka, memory on the "
        "embedded broker, whose topics live only as long as its process (local databases would outlive their "
        "changelog).")
    table_standby_replicas: int = Field(default=1, ge=0, validation_alias="CIVICFLOW_TABLE_STANDBY_REPLICAS",
                                        description="[CIVICFLOW_TABLE_STANDBY_REPLICAS] how many other workers keep a "
                                        "copy of each table partition up to date (1), so a partition failing over "
                                        "finds its state there; 0 turns standbys off.")
    fetch_max_wait_ms: int | None = Field(default=None, ge=0, validation_alias="CIVICFLOW_FETCH_MAX_WAIT_MS",
                                          description="[CIVICFLOW_FETCH_MAX_WAIT_MS] longest a worker's fetch waits "
                                          "for data. Unset: 10 on the embedded broker, which does not wake waiting "
                                          "fetches (it bounds intake-to-routed latency there); Faust's own 1.5 s on "
                                          "Apache Kafka, which answers a waiting fetch as soon as data arrives.")
    accept_untested_clients: bool = Field(default=False, validation_alias="CIVICFLOW_ACCEPT_UNTESTED_CLIENTS",
                                          description="[CIVICFLOW_ACCEPT_UNTESTED_CLIENTS] start a worker although "
                                          "faust-streaming, aiokafka or kafka-python differ from the versions "
                                          "streams/kafka was tested with (false: refuse, naming them); true logs a "
                                          "warning instead, for operators who accept the risk.")
    producer_linger_ms: int = Field(default=5, ge=0, validation_alias="CIVICFLOW_PRODUCER_LINGER_MS",
                                    description="[CIVICFLOW_PRODUCER_LINGER_MS] producer batching delay (5).")
    intake_batch_ms: int = Field(default=15, ge=1, validation_alias="CIVICFLOW_INTAKE_BATCH_MS",
                                 description="[CIVICFLOW_INTAKE_BATCH_MS] longest the intake agent waits to fill a "
                                 "batch (15): longer batches cost less per request, but a request may wait that "
                                 "long at low traffic.")
    session_timeout_s: float = Field(default=6.0, validation_alias="CIVICFLOW_SESSION_TIMEOUT_S",
                                     description="[CIVICFLOW_SESSION_TIMEOUT_S] consumer group session "
                                     "timeout (6.0): failover time after a worker dies.")
    reader_session_timeout_s: float = Field(default=30.0, ge=6.0, validation_alias="CIVICFLOW_READER_SESSION_TIMEOUT_S",
                                            description="[CIVICFLOW_READER_SESSION_TIMEOUT_S] consumer group session "
                                            "timeout of the projection, the notifier and the demo agencies (30.0): "
                                            "how long a silent one keeps its partitions. A starved process that "
                                            "misses its heartbeats for longer is put out of the group and must "
                                            "rejoin before it reads on; one that stops cleanly leaves at once.")
    idempotency_window_s: int = Field(default=24 * 3600, validation_alias="CIVICFLOW_IDEMPOTENCY_WINDOW_S",
                                      description="[CIVICFLOW_IDEMPOTENCY_WINDOW_S] how long an idempotency key "
                                      "is remembered (86400).")
    agents: str = Field(default="intake,lifecycle", pattern="^(intake|lifecycle)(,(intake|lifecycle))*$",
                        validation_alias="CIVICFLOW_AGENTS",
                        description="[CIVICFLOW_AGENTS] the agents a worker runs (intake,lifecycle): one worker pool "
                        "per stage scales the stages apart.")
    lag_interval_s: float = Field(default=15.0, ge=0, validation_alias="CIVICFLOW_LAG_INTERVAL_S",
                                  description="[CIVICFLOW_LAG_INTERVAL_S] how often a worker exports the consumer "
                                  "lag of the platform's groups (15; 0 turns it off).")
    clock: str = Field(default="processing", pattern="^(processing|event)$", validation_alias="CIVICFLOW_CLOCK",
                       description="[CIVICFLOW_CLOCK] processing (live: SLA timers follow the wall clock) or event "
                       "(replays: they follow the watermark of event times) (processing).")
    timer_tick_s: float = Field(default=0.2, gt=0, validation_alias="CIVICFLOW_TIMER_TICK_S",
                                description="[CIVICFLOW_TIMER_TICK_S] how often due SLA timers are fired (0.2).")
    update_grace_s: float = Field(default=30.0, ge=0, validation_alias="CIVICFLOW_UPDATE_GRACE_S",
                                  description="[CIVICFLOW_UPDATE_GRACE_S] how long an update for a request not "
                                  "routed yet waits before it is rejected as unknown_request (30).")
    closed_retention_days: float = Field(default=30.0, gt=0, validation_alias="CIVICFLOW_CLOSED_RETENTION_DAYS",
                                         description="[CIVICFLOW_CLOSED_RETENTION_DAYS] how long a closed request "
                                         "can still be reopened before the lifecycle agent forgets it (30).")
    time_horizon_days: float = Field(default=30.0, gt=0, le=36525, validation_alias="CIVICFLOW_TIME_HORIZON_DAYS",
                                     description="[CIVICFLOW_TIME_HORIZON_DAYS] how far in the past a live "
                                     "submission's submitted_at may lie (30; imports of history are exempt).")
    clock_skew_s: float = Field(default=300.0, ge=0, le=86400, validation_alias="CIVICFLOW_CLOCK_SKEW_S",
                                description="[CIVICFLOW_CLOCK_SKEW_S] how far ahead of the platform's clock a "
                                "submission's or an update's time may lie (300).")
    update_max_age_h: float = Field(default=24.0, gt=0, le=876600, validation_alias="CIVICFLOW_UPDATE_MAX_AGE_H",
                                    description="[CIVICFLOW_UPDATE_MAX_AGE_H] how long ago a live agency update may "
                                    "have happened (24; replays, on event time, are exempt).")
    notifications: bool = Field(default=True, validation_alias="CIVICFLOW_NOTIFICATIONS",
                                description="[CIVICFLOW_NOTIFICATIONS] whether the lifecycle agent writes citizen "
                                "notifications (true; replays of history write none).")
    notifications_file: Path | None = Field(default=None, validation_alias="CIVICFLOW_NOTIFICATIONS_FILE",
                                            description="[CIVICFLOW_NOTIFICATIONS_FILE] where the reference sender "
                                            "delivers rendered messages, one JSON line each (unset: "
                                            "notifications/outbox.jsonl in the data directory).")
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL",
                                     description="[DATABASE_URL] the read model's database, e.g. "
                                     "postgresql+psycopg://user@host/db. Unset: a SQLite file readmodel.sqlite3 in "
                                     "the data directory.")
    api_host: str = Field(default="127.0.0.1", validation_alias="CIVICFLOW_API_HOST",
                          description="[CIVICFLOW_API_HOST] address the Open311 API listens on (127.0.0.1).")
    api_port: int = Field(default=8311, validation_alias="CIVICFLOW_API_PORT",
                          description="[CIVICFLOW_API_PORT] port of the Open311 API (8311).")
    api_keys_file: Path = Field(default_factory=lambda: resources.path("api/keys.yaml"),
                                validation_alias="CIVICFLOW_API_KEYS",
                                description="[CIVICFLOW_API_KEYS] the API keys issued to clients, each with its "
                                "channel (deploy/api/keys.yaml: demo keys only).")
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$", validation_alias="CIVICFLOW_LOG_FORMAT",
                            description="[CIVICFLOW_LOG_FORMAT] auto (console on a terminal, JSON otherwise), "
                            "json or console.")
    log_level: str = Field(default="INFO", validation_alias="CIVICFLOW_LOG_LEVEL",
                           description="[CIVICFLOW_LOG_LEVEL] INFO.")

    @model_validator(mode="after")
    def _resolve_broker_kind(self) -> "Settings":
        """Fix broker_kind when unset, so copies with another address and child processes keep what it was, and
        the defaults that follow from it."""
        if self.broker_kind is None:
            object.__setattr__(self, "broker_kind", "kafka" if self.kafka_bootstrap_servers else "embedded")
        if self.table_store is None:
            object.__setattr__(self, "table_store", "memory" if self.broker_kind == "embedded" else "rocksdb")
        if self.fetch_max_wait_ms is None and self.broker_kind == "embedded":
            object.__setattr__(self, "fetch_max_wait_ms", 10)
        return self

    @model_validator(mode="after")
    def _min_insync_within_replicas(self) -> "Settings":
        """A topic whose min.insync.replicas exceeds its replicas would refuse every acks=all write."""
        if self.topic_min_insync_replicas is not None and self.topic_min_insync_replicas > self.replication_factor:
            raise ValueError(f"CIVICFLOW_TOPIC_MIN_INSYNC_REPLICAS ({self.topic_min_insync_replicas}) exceeds "
                             f"CIVICFLOW_REPLICATION_FACTOR ({self.replication_factor}): no write could succeed")
        return self

    @property
    def topic_config(self) -> dict[str, str]:
        """Configuration every topic the platform creates gets (compaction aside)."""
        if self.topic_min_insync_replicas is None:
            return {}
        return {"min.insync.replicas": str(self.topic_min_insync_replicas)}

    @property
    def producer_acks_count(self) -> int:
        """producer_acks as Faust and aiokafka's number: -1 for all."""
        return -1 if self.producer_acks == "all" else int(self.producer_acks)

    @property
    def bootstrap_servers(self) -> str:
        """The cluster to use: KAFKA_BOOTSTRAP_SERVERS, else the embedded broker."""
        return self.kafka_bootstrap_servers or f"{self.embedded_broker_host}:{self.embedded_broker_port}"

    @property
    def read_model_url(self) -> str:
        """DATABASE_URL, else the SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'readmodel.sqlite3'}"

    @property
    def uses_embedded_broker(self) -> bool:
        """True when no cluster is configured: `civicflow run` and replays start the embedded broker themselves."""
        return not self.kafka_bootstrap_servers and self.broker_kind == "embedded"

    @property
    def exactly_once(self) -> bool:
        """True when the agents run with Kafka transactions (CIVICFLOW_PROCESSING_GUARANTEE=exactly_once)."""
        return self.processing_guarantee == "exactly_once"

    @property
    def isolation_level(self) -> str:
        """What readers of the platform's outputs use: read_committed under exactly_once, so that they never see
        records of a transaction a killed worker left open (aborted later); read_uncommitted otherwise."""
        return "read_committed" if self.exactly_once else "read_uncommitted"

    @property
    def on_embedded_broker(self) -> bool:
        """True when the cluster at bootstrap_servers is the embedded broker (started here or elsewhere), so its
        corrections apply; False on Apache Kafka."""
        return self.broker_kind == "embedded"


@lru_cache(maxsize=1)
def get() -> Settings:
    """The settings, read from the environment once per process."""
    return Settings()
