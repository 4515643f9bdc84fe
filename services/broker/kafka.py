"""A throwaway Apache Kafka broker in KRaft mode, from the official jars, as a child process (no Docker).

The jars (`org.apache.kafka:kafka_2.13:<version>` and every runtime dependency) are fetched once with Maven into
`<data_dir>/kafka/<version>/libs` and reused after. A node is formatted with Kafka's StorageTool and started with
`java -cp 'libs/*' kafka.Kafka server.properties`, its log and metadata directories in a temporary folder that
is removed when it stops. One node is a combined broker and controller; the node id, the controller quorum, the
cluster id and extra listeners or properties are parameters, so that several nodes can form one cluster.
`sasl_ssl_node` makes a node without any PLAINTEXT listener: SASL_SSL with SCRAM-SHA-512 for clients, TLS and
ACLs (StandardAuthorizer) everywhere.
"""

import base64
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from civicflow.services.broker.exceptions import BrokerError
from civicflow.services.broker.service import child_process, free_port, refuse_taken_port, terminate, wait_for_port
from civicflow.streams import resources
from civicflow.streams.kafka import security as kafka_security

# The newest patch release of a 4.x line (4.4.0 is a .0); kafka-python 3.0 and aiokafka 0.14 speak its protocol.
VERSION = "4.3.2"
SCALA = "2.13"
# Kafka's jars log through SLF4J 1.x and bring log4j-core but, as libraries, no binding between them; Kafka's
# own release adds this one. Keep it at the log4j-core version the pinned Kafka depends on.
LOG4J_SLF4J = "org.apache.logging.log4j:log4j-slf4j-impl:2.25.5"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
SERVER_MAIN = "kafka.Kafka"
STORAGE_TOOL_MAIN = "kafka.tools.StorageTool"
HEAP = "-Xmx384m"
# Small on a shared machine: the serial collector (no GC threads beside the broker's), a heap of at most 384 MiB.
JVM_OPTIONS = ("-Xms128m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true")

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>civicflow</groupId>
  <artifactId>apache-kafka-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""


def _pom(version: str) -> str:
    """A pom whose runtime dependencies are the broker's jars."""
    coordinates = [f"org.apache.kafka:kafka_{SCALA}:{version}", LOG4J_SLF4J]
    return _POM.format(dependencies="\n".join(
        "    <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version></dependency>".format(
            *coordinate.split(":")) for coordinate in coordinates))


_LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.coordinator.name = org.apache.kafka.coordinator.group
logger.coordinator.level = INFO
"""


class KafkaUnavailable(BrokerError):
    """No java or no Maven on this machine, or the jars could not be fetched."""


def cache_dir(data_dir: Path, version: str = VERSION) -> Path:
    """Where the jars of a version live: <data_dir>/kafka/<version>/libs."""
    return Path(data_dir) / "kafka" / version / "libs"


def missing_tools(libs: Path | None = None) -> list[str]:
    """The programs this machine lacks to run Apache Kafka: java always, mvn while the jars are not cached."""
    missing = [] if shutil.which("java") else ["java"]
    if not (libs is not None and (libs / ".complete").exists()) and not shutil.which("mvn"):
        missing.append("mvn")
    return missing


def fetch(data_dir: Path, version: str = VERSION, *, timeout_s: float = 900.0) -> Path:
    """The libs folder of `version`, fetched with Maven the first time (Maven's own cache, ~/.m2, is used too).

    Two processes fetching at once take turns (a lock file); a fetch that fails leaves nothing half-written.
    """
    libs = cache_dir(data_dir, version)
    if (libs / ".complete").exists():
        return libs
    missing = missing_tools(libs)
    if "mvn" in missing:
        raise KafkaUnavailable(f"Apache Kafka {version} is not cached in {libs} and there is no mvn to fetch it")
    libs.parent.mkdir(parents=True, exist_ok=True)
    with open(libs.parent / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (libs / ".complete").exists():
            return libs
        work = Path(tempfile.mkdtemp(prefix="fetch-", dir=libs.parent))
        try:
            (work / "pom.xml").write_text(_pom(version))
            started = time.monotonic()
            result = subprocess.run(
                ["mvn", "-B", "-q", "-f", str(work / "pom.xml"), f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                 "-DincludeScope=runtime", f"-DoutputDirectory={work / 'libs'}"],
                capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
            if result.returncode or not any((work / "libs").glob(f"kafka_{SCALA}-{version}.jar")):
                raise KafkaUnavailable(f"mvn could not fetch org.apache.kafka:kafka_{SCALA}:{version}: "
                                       f"{(result.stdout + result.stderr).strip()[-2000:]}")
            (work / "libs" / ".complete").write_text(f"fetched in {time.monotonic() - started:.1f} s\n")
            shutil.rmtree(libs, ignore_errors=True)
            (work / "libs").rename(libs)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return libs


_FOLDER_PREFIX = "civicflow-kafka-"


def _remove_orphaned_folders() -> None:
    """Remove the folders of nodes whose owner died without stopping them (the node dies with its owner)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_FOLDER_PREFIX}*"):
        try:
            owner = int((folder / "owner.pid").read_text())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):  # not ours to judge: no owner file yet, or another user's
            continue


def random_cluster_id() -> str:
    """A cluster id as Kafka writes one: 16 random bytes, URL-safe base64 without padding, not starting with -."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


@dataclass
class ApacheKafka:
    """One Apache Kafka node in KRaft mode on host:port; everything it stores is removed when it stops.

    Alone (the defaults) it is a combined broker and controller of a one-node cluster. For a cluster, give every
    node the same `cluster_id` and `controller_quorum_voters` ("1@host:port,2@host:port,…") and its own
    `node_id`; `listeners` adds listeners (name -> "host:port", with `listener_security` for their protocol)
    and `properties` overrides or adds any server property. `listener_name` names the listener on host:port, also
    the one between brokers; `scram_users` ({name: password}) are SCRAM-SHA-512 users written into the metadata
    when the storage is formatted (the super user of a SASL cluster, who then creates the others through the admin
    API); `client_security` is how this object's own client (the readiness check) connects.
    """

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    node_id: int = 1
    process_roles: str = "broker,controller"
    cluster_id: str = field(default_factory=random_cluster_id)
    controller_quorum_voters: str | None = None
    listeners: dict[str, str] = field(default_factory=dict)
    listener_security: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    listener_name: str = "PLAINTEXT"
    scram_users: dict[str, str] = field(default_factory=dict, repr=False)
    client_security: kafka_security.ClientSecurity = kafka_security.PLAINTEXT
    auto_create_topics: bool = False  # as a production cluster should be: the platform creates its topics
    version: str = VERSION
    data_dir: Path = field(default_factory=resources.default_data_dir)  # the jars' cache is under it (settings.data_dir)
    heap: str = HEAP
    root: Path | None = field(default=None, init=False)
    process: subprocess.Popen | None = field(default=None, init=False)
    paused: bool = field(default=False, init=False)

    kind = "kafka"  # Settings.broker_kind of a platform on it

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path | None:
        """The node's server log (log4j), while it runs."""
        return self.root / "server.log" if self.root else None

    def server_properties(self) -> dict[str, str]:
        """The node's server.properties."""
        voters = self.controller_quorum_voters or f"{self.node_id}@{self.host}:{self.controller_port}"
        listeners = {self.listener_name: f"{self.host}:{self.port}", **self.listeners}
        roles = set(self.process_roles.split(","))
        if "controller" in roles:
            listeners["CONTROLLER"] = f"{self.host}:{self.controller_port}"
        security = ({name: name if name in kafka_security.PROTOCOLS else "PLAINTEXT" for name in listeners}
                    | {"CONTROLLER": "PLAINTEXT"} | self.listener_security)
        advertised = {name: address for name, address in listeners.items() if name != "CONTROLLER"}
        properties = {
            "process.roles": self.process_roles,
            "node.id": str(self.node_id),
            "controller.quorum.voters": voters,
            "controller.listener.names": "CONTROLLER",
            "listeners": ",".join(f"{name}://{address}" for name, address in listeners.items()),
            "advertised.listeners": ",".join(f"{name}://{address}" for name, address in advertised.items()),
            "inter.broker.listener.name": self.listener_name,
            "listener.security.protocol.map": ",".join(f"{name}:{protocol}" for name, protocol in security.items()),
            "log.dirs": str(self.root / "data"),
            "metadata.log.dir": str(self.root / "metadata"),
            "auto.create.topics.enable": str(self.auto_create_topics).lower(),
            "num.partitions": "1",
            # one node: internal topics cannot be replicated (a cluster's nodes override these)
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # a throwaway node: no 3 s wait for more members when a group forms, no fsync, small threads pools
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
            "log.cleaner.threads": "1",
            "log.cleaner.dedupe.buffer.size": str(8 << 20),
            # index files of 1 MiB, not 10: each is a sparse file mapped into memory, and reading one here made the
            # kernel zero whole pages of holes again and again (90 % of the broker's sampled time in memset): a
            # second pipeline run on one node ran at 0.45 of the first's rate, the node's system time 1.4 -> 7.4 s
            # a run; with 1 MiB the rate holds (5,964 to 6,907 requests/s over four runs). 1 MiB still indexes
            # about 512 MiB of a throwaway node's segment.
            "log.index.size.max.bytes": str(1 << 20),
        }
        properties.update(self.properties)
        return properties

    def _java(self, libs: Path, main: str, *args: str) -> list[str]:
        return ["java", self.heap, *JVM_OPTIONS, f"-Dlog4j2.configurationFile={self.root / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={self.root / 'logs'}", "-cp", str(libs / "*"), main, *args]

    def start(self, *, timeout_s: float = 120.0) -> "ApacheKafka":
        """Fetch the jars if needed, format the node's storage, start it and wait until it serves metadata."""
        self.launch(timeout_s=timeout_s)
        try:
            self.wait_ready(timeout_s=timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self, *, timeout_s: float = 120.0) -> "ApacheKafka":
        """Format the node's storage and start its process without waiting: the nodes of a cluster are launched
        together, since none of them serves before a majority of the controllers has elected a leader."""
        refuse_taken_port(self.host, self.port)
        libs = fetch(self.data_dir, self.version)
        if missing_tools(libs):
            raise KafkaUnavailable("no java on PATH: Apache Kafka needs Java 17 or later")
        _remove_orphaned_folders()
        self.root = Path(tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{self.node_id}-"))
        (self.root / "owner.pid").write_text(str(os.getpid()))
        try:
            config = self.root / "server.properties"
            config.write_text("".join(f"{key}={value}\n" for key, value in self.server_properties().items()))
            (self.root / "log4j2.properties").write_text(_LOG4J2.format(log=self.root / "server.log"))
            scram = [argument for name, password in self.scram_users.items()
                     for argument in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")]
            formatted = subprocess.run(self._java(libs, STORAGE_TOOL_MAIN, "format", "--ignore-formatted",
                                                  "--cluster-id", self.cluster_id, "--config", str(config), *scram),
                                       capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
            if formatted.returncode:
                raise BrokerError(f"formatting the Kafka storage failed: "
                                  f"{(formatted.stdout + formatted.stderr).strip()[-2000:]}")
            self._spawn(libs)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, libs: Path) -> None:
        with (self.root / "stdout.log").open("ab") as output:
            self.process = child_process(self._java(libs, SERVER_MAIN, str(self.root / "server.properties")),
                                         stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, *, timeout_s: float = 120.0) -> None:
        """Until the node listens and, if it is a broker, lists itself in its metadata."""
        deadline = time.monotonic() + timeout_s
        wait_for_port(self.host, self.port, timeout_s=timeout_s, process=self.process)
        if "broker" in self.process_roles:
            self._wait_serving(deadline)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the node's process, as a crash or a power loss would end it; its folder stays for restart()."""
        if self.running:
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def pause(self) -> None:
        """SIGSTOP the node's process: it holds its connections and answers nothing (a long GC pause, a frozen
        VM) until resume()."""
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT a paused node."""
        self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def restart(self, *, timeout_s: float = 120.0) -> "ApacheKafka":
        """Start a killed node again on its own storage (same ports, same data) and wait until it serves."""
        if self.running:
            raise BrokerError(f"node {self.node_id} still runs: kill() it before restart()")
        self._spawn(fetch(self.data_dir, self.version))
        self.wait_ready(timeout_s=timeout_s)
        return self

    def _wait_serving(self, deadline: float) -> None:
        """Until the broker lists itself in its metadata (registered and unfenced with the controller)."""
        from kafka import KafkaAdminClient

        error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrokerError(f"Apache Kafka exited with code {self.process.returncode}: {self._tail()}")
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id="civicflow-kafka-ready",
                                         request_timeout_ms=5000, **self.client_security.kafka_python())
                try:
                    brokers = admin.describe_cluster().get("brokers") or []
                    if any(broker["broker_id"] == self.node_id for broker in brokers):
                        return
                finally:
                    admin.close()
            except Exception as failure:  # not serving yet
                error = failure
            time.sleep(0.2)
        raise BrokerError(f"Apache Kafka on {self.bootstrap_servers} not ready: {error}; {self._tail()}")

    def _tail(self) -> str:
        texts = []
        for name in ("stdout.log", "server.log"):
            path = self.root / name if self.root else None
            if path is not None and path.exists():
                texts.append(path.read_text(errors="replace")[-1500:])
        return "\n".join(texts)

    def stop(self, *, timeout_s: float = 15.0) -> None:
        """Stop the node (SIGTERM: a controlled shutdown, then SIGKILL) and remove its folder."""
        if self.running:
            self.resume()  # a paused node would not hear SIGTERM until the SIGKILL
        terminate(self.process, timeout_s=timeout_s)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "ApacheKafka":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def sasl_ssl_node(*, keystore: Path, ca_file: Path, admin: str, admin_password: str, **fields) -> ApacheKafka:
    """A node with no PLAINTEXT listener: clients and brokers on SASL_SSL with SCRAM-SHA-512, the controller
    listener on SASL_SSL with PLAIN (KRaft takes no SCRAM there: those credentials live in the metadata the
    controller serves), the StandardAuthorizer with `admin` as the only super user and nothing allowed without an
    ACL. `keystore` is the server's PEM key and certificate chain, valid for the node's host; `ca_file` the CA that
    signed it. `admin` is created at format time; create every other user with the admin API
    (alter_user_scram_credentials) and give it ACLs. Other fields as ApacheKafka's."""
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    login = f"username={quoted(admin)} password={quoted(admin_password)}"
    properties = {
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config":
            f"org.apache.kafka.common.security.scram.ScramLoginModule required {login};",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config":
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {login} "
            f"user_{admin}={quoted(admin_password)};",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(keystore),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(ca_file),
        "ssl.client.auth": "none",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{admin}",
        "allow.everyone.if.no.acl.found": "false",
        **fields.pop("properties", {}),
    }
    client = kafka_security.build(protocol="SASL_SSL", mechanism="SCRAM-SHA-512", username=admin,
                                  password=admin_password, ca_file=ca_file)
    return ApacheKafka(listener_name="SASL_SSL", listener_security={"SASL_SSL": "SASL_SSL", "CONTROLLER": "SASL_SSL"},
                       properties=properties, scram_users={admin: admin_password}, client_security=client, **fields)


# What a cluster's nodes change from a lone node's defaults: internal topics replicated to every node (a group's
# committed offsets must survive the loss of one), and a node that stops heartbeating fenced after 6 s rather than
# 9 s, so that the faults of the tests cost seconds, not tens of them. The platform's own topics take their
# replication and min.insync.replicas from its settings (CIVICFLOW_REPLICATION_FACTOR,
# CIVICFLOW_TOPIC_MIN_INSYNC_REPLICAS), not from these broker defaults.
def cluster_properties(size: int) -> dict[str, str]:
    """Server properties every node of a `size`-node cluster shares."""
    replicas = str(size)
    min_isr = str(min(2, size))
    return {
        "offsets.topic.replication.factor": replicas,
        "offsets.topic.num.partitions": "10",  # the default 50 replicated 3 times slows a small cluster's start
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        "broker.session.timeout.ms": "6000",
        "broker.heartbeat.interval.ms": "1000",
    }


@dataclass
class KafkaCluster:
    """`size` Apache Kafka nodes (each a combined broker and controller, a small heap) forming one KRaft cluster on
    free ports: one cluster id, every node a voter of the controller quorum. Nodes can be killed, paused and
    restarted one by one (`node(id)`); `leader(topic, partition)` finds the node that leads a partition."""

    size: int = 3
    host: str = "127.0.0.1"
    heap: str = "-Xmx320m"
    data_dir: Path = field(default_factory=resources.default_data_dir)
    version: str = VERSION
    properties: dict[str, str] = field(default_factory=dict)
    nodes: list[ApacheKafka] = field(default_factory=list, init=False)

    kind = "kafka"

    def __post_init__(self) -> None:
        cluster_id = random_cluster_id()
        ports = [(free_port(self.host), free_port(self.host)) for _ in range(self.size)]
        voters = ",".join(f"{n}@{self.host}:{controller}" for n, (_, controller) in enumerate(ports, start=1))
        self.nodes = [
            ApacheKafka(host=self.host, port=port, controller_port=controller, node_id=n, cluster_id=cluster_id,
                        controller_quorum_voters=voters, properties=cluster_properties(self.size) | self.properties,
                        data_dir=self.data_dir, version=self.version, heap=self.heap)
            for n, (port, controller) in enumerate(ports, start=1)]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    def node(self, node_id: int) -> ApacheKafka:
        return next(node for node in self.nodes if node.node_id == node_id)

    def start(self, *, timeout_s: float = 180.0) -> "KafkaCluster":
        """Launch every node, then wait until each one serves."""
        try:
            for node in self.nodes:
                node.launch(timeout_s=timeout_s)
            for node in self.nodes:
                node.wait_ready(timeout_s=timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGKILL every node and remove its folder: the data is thrown away, and a controlled shutdown of all
        nodes at once waits for a controller quorum that is shutting down too (about 20 s measured)."""
        for node in self.nodes:
            node.kill()
            node.stop()

    def _admin(self):
        from kafka import KafkaAdminClient

        live = ",".join(node.bootstrap_servers for node in self.nodes
                        if node.running and not node.paused) or self.bootstrap_servers
        return KafkaAdminClient(bootstrap_servers=live, client_id="civicflow-kafka-cluster", request_timeout_ms=10000,
                                **self.nodes[0].client_security.kafka_python())

    def partitions(self, topic: str) -> dict[int, dict]:
        """Partition number → its metadata as a broker reports it now (leader, replicas, isr)."""
        from kafka.errors import KafkaError

        admin = self._admin()
        try:
            for attempt in range(5):  # the client picks a known node at random: a dead one fails, then is avoided
                try:
                    described = admin.describe_topics([topic])
                    break
                except KafkaError:
                    if attempt == 4:
                        raise
                    time.sleep(0.2)
        finally:
            admin.close()
        return {p["partition_index"]: {"leader": p["leader_id"], "replicas": list(p["replica_nodes"]),
                                       "isr": list(p["isr_nodes"])}
                for t in described for p in t["partitions"]}

    def leader(self, topic: str, partition: int = 0) -> ApacheKafka:
        """The node that leads the partition now (admin client metadata)."""
        leader_id = self.partitions(topic)[partition]["leader"]
        if leader_id < 0:
            raise BrokerError(f"{topic}[{partition}] has no leader")
        return self.node(leader_id)

    def wait_in_sync(self, topic: str, *, timeout_s: float = 60.0) -> None:
        """Until every partition of the topic has all its replicas in sync (a restarted node has caught up)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if all(set(p["isr"]) == set(p["replicas"]) for p in self.partitions(topic).values()):
                    return
            except Exception as failure:  # a node that just came back may not answer yet
                if time.monotonic() > deadline:
                    raise BrokerError(f"{topic}: {failure}") from failure
            if time.monotonic() > deadline:
                raise BrokerError(f"{topic} not in sync after {timeout_s} s: {self.partitions(topic)}")
            time.sleep(0.5)

    def __enter__(self) -> "KafkaCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
