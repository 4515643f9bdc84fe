"""Configuration errors print their problems and exit 2, without a traceback, for every command."""

import subprocess
import sys

import pytest

from civicflow.streams.settings import REPO_ROOT
from tests.conftest import SHARED_DATA


def civicflow(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "civicflow.services.cli", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("command", [["topics"], ["worker"], ["replay", str(SHARED_DATA / "nyc311" /
                                                                          "nyc311_sample_2011.csv"), "--check"]])
def test_a_broken_jurisdiction_directory_is_listed_not_a_traceback(tmp_path, command):
    broken = tmp_path / "jurisdictions" / "nyc"
    broken.mkdir(parents=True)
    (broken / "jurisdiction.yaml").write_text("id: nyc\nname: x\n")
    done = civicflow(*command, env={"CIVICFLOW_JURISDICTIONS_DIR": str(tmp_path / "jurisdictions")})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "is not valid" in done.stderr and "time_zone" in done.stderr


def test_a_bad_environment_value_names_the_variable(tmp_path):
    done = civicflow("topics", env={"CIVICFLOW_PARTITIONS": "many"})
    assert done.returncode == 2 and "CIVICFLOW_PARTITIONS" in done.stderr and "Traceback" not in done.stderr


def test_replay_check_of_an_export_missing_a_column_exits_non_zero(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("Unique Key,Created Date,Agency,Complaint Typo\n1,03/01/2011 02:27:57 PM,NYPD,Noise\n")
    done = civicflow("replay", str(export), "--check")
    assert done.returncode == 2 and "MISSING COLUMNS" in done.stdout and "Complaint Type" in done.stdout
    assert "Traceback" not in done.stderr + done.stdout and "KeyError" not in done.stdout


def test_replay_of_a_missing_file_says_so(tmp_path):
    done = civicflow("replay", str(tmp_path / "nothing.csv"))
    assert done.returncode == 2 and "no such file" in done.stderr and "Traceback" not in done.stderr


def test_version_names_the_installed_distribution():
    from importlib import metadata

    done = civicflow("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"civicflow {metadata.version('civicflow')}"


@pytest.mark.parametrize("command", [["worker"], ["submit", "-"], ["tail", "requests.routed"], ["notifier"]])
def test_kafka_security_that_cannot_work_is_one_line_naming_the_variable(tmp_path, command):
    done = civicflow(*command, env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "CIVICFLOW_DATA_DIR": str(tmp_path),
                                    "CIVICFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                                    "CIVICFLOW_KAFKA_SASL_PASSWORD": "x"})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    # one line (the worker's collector may log a pause beside it on a busy machine)
    assert (f"civicflow {command[0]}: CIVICFLOW_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs CIVICFLOW_KAFKA_SASL_USERNAME"
            in done.stderr.splitlines())
