"""Expected errors end in a few plain lines and a non-zero exit, never a traceback: a cluster that cannot be
reached (within 10 s), wrong paths, a bad date, a port in use, a database that is down."""

import os
import socket
import subprocess
import sys
import time

import pytest

from civicflow.services.cli import errors as cli_errors
from civicflow.streams.settings import REPO_ROOT

UNREACHABLE = "127.0.0.1:1"


def civicflow(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicflow.services.cli", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def plain(done: subprocess.CompletedProcess, *, code: int = 2, lines: int = 3) -> str:
    """The command failed with `code` and said why in a few lines of stderr, without a traceback."""
    said = done.stderr.strip()
    assert done.returncode == code, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert 0 < len(said.splitlines()) <= lines, said
    return said


@pytest.fixture
def listening():
    """A port something listens on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


@pytest.fixture(scope="module")
def startup_s() -> float:
    """How long the command line takes to start and answer --version here, now (a loaded machine is slow)."""
    started = time.monotonic()
    civicflow("--version")
    return time.monotonic() - started


@pytest.mark.parametrize("command", [["tail", "requests.routed"], ["worker"], ["submit", "-"],
                                     ["update", "r-1", "acknowledged", "--agency", "NYPD"], ["projection"],
                                     ["notifier"], ["run"]])
def test_an_unreachable_cluster_is_one_line_within_ten_seconds(command, tmp_path, startup_s):
    started = time.monotonic()
    done = civicflow(*command, env={"KAFKA_BOOTSTRAP_SERVERS": UNREACHABLE, "CIVICFLOW_DATA_DIR": str(tmp_path)},
                     timeout=60)
    elapsed = time.monotonic() - started
    said = plain(done, lines=1)
    assert said.startswith(f"civicflow {command[0]}: cannot reach Kafka at {UNREACHABLE}")
    assert "KAFKA_BOOTSTRAP_SERVERS" in said
    # the check waits 5 s; the rest is the interpreter's start (about 2 s on an idle machine, measured in this run
    # as startup_s): beyond the start, the check (5 s) and the jurisdictions (about 1 s) stay under 10 s
    assert elapsed - startup_s < 10, f"took {elapsed:.1f} s, of which {startup_s:.1f} s to start"


def test_a_missing_input_file_is_named(tmp_path):
    done = civicflow("submit", str(tmp_path / "nothing.jsonl"), env={"KAFKA_BOOTSTRAP_SERVERS": UNREACHABLE})
    # the cluster is checked first: either problem is reported plainly
    assert "nothing.jsonl" in plain(done) or "cannot reach Kafka" in done.stderr


def test_a_bad_date_is_refused_as_the_line_is_read():
    done = civicflow("report", "--start", "2011-13-45")
    said = plain(done, lines=6)
    assert "'2011-13-45' is not an ISO 8601 date" in said and "usage: civicflow report" in said


def test_a_bad_update_time_is_refused_before_anything_is_sent():
    done = civicflow("update", "r-1", "acknowledged", "--agency", "NYPD", "--at", "yesterday",
                     env={"KAFKA_BOOTSTRAP_SERVERS": UNREACHABLE})
    assert "'yesterday' is not an ISO 8601" in plain(done, lines=8)


def test_a_broker_port_in_use_names_the_variable(listening, tmp_path):
    done = civicflow("broker", "--port", str(listening), env={"CIVICFLOW_DATA_DIR": str(tmp_path)})
    said = plain(done, lines=1)
    assert f"127.0.0.1:{listening} is already in use" in said and "CIVICFLOW_BROKER_PORT" in said


def test_an_unknown_tail_offset_says_what_is_accepted():
    done = civicflow("tail", "requests.routed", "--offset", "middle")
    assert "give beginning, end, an offset N, or -N" in plain(done, lines=8)


def test_a_missing_jurisdiction_directory_is_named(tmp_path):
    done = civicflow("topics", env={"CIVICFLOW_JURISDICTIONS_DIR": str(tmp_path / "none")})
    assert "none" in plain(done, lines=2)


def test_the_mapping_of_errors_to_messages():
    """The table of services/cli/errors.py: each expected error gets a message, anything else none."""
    import errno

    from sqlalchemy import exc as sqlalchemy_exc

    in_use = OSError(errno.EADDRINUSE, "Address already in use")
    assert "already in use" in cli_errors.explain(in_use)
    assert cli_errors.explain(FileNotFoundError(2, "No such file", "/x.csv")) == "/x.csv: no such file or directory"
    assert "DATABASE_URL" in cli_errors.explain(sqlalchemy_exc.OperationalError("SELECT 1", {}, Exception("down")))
    assert cli_errors.explain(KeyError("bug")) is None
    assert cli_errors.explain(ZeroDivisionError()) is None
