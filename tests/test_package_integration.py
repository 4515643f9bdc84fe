"""The built wheel, installed in a fresh virtualenv outside the repository, is a working civicflow: the shipped
files (schemas, the NYC jurisdiction, the API keys example, the replay formats, the demo data) come with it, and
`civicflow run` routes requests from there.

Integration: it builds, installs (dependencies from pip's cache, PyPI otherwise) and starts the platform, about
three minutes on a loaded 2-core machine.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from civicflow.streams import resources
from civicflow.streams.settings import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.own_platform]

COPY_IGNORED = shutil.ignore_patterns(".venv", ".git", ".civicflow", "tests", "build", "dist", "*.egg-info",
                                      "__pycache__", ".pytest_cache", ".hypothesis")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(*args, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**_clean_env(), **(env or {})})
    assert done.returncode == 0, f"{args}: {done.stderr[-3000:]}"
    return done


def _clean_env() -> dict:
    """The environment without this checkout on the path or civicflow settings of the test session."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith(("CIVICFLOW_", "KAFKA_"))
            and k not in ("DATABASE_URL", "SCHEMA_REGISTRY_URL")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin directory, a working directory outside the repository) with the wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "civicflow"  # the project folder's name must not be "src": setuptools takes it for a layout
    shutil.copytree(REPO_ROOT, source, ignore=COPY_IGNORED)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", root / "dist",
         source, cwd=root)
    [wheel] = (root / "dist").glob("civicflow-*.whl")
    _run(sys.executable, "-m", "venv", root / "venv", cwd=root)
    bin_dir = root / "venv" / "bin"
    # --no-compile: the modules are byte-compiled when first imported, not all of them up front
    _run(bin_dir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile", wheel,
         cwd=root)
    work = root / "work"
    work.mkdir()
    return bin_dir, work


def test_the_wheel_carries_the_shipped_files_and_not_the_checkout(installed):
    bin_dir, work = installed
    # module paths taken from the imported modules, so this holds under any package name
    script = (f"import importlib, json; r = importlib.import_module({resources.__name__!r}); "
              "print(json.dumps({'module': r.__file__, 'root': str(r.packaged_root()), "
              "'files': {n: r.path(n).exists() for n in r.LAYOUT}, 'data_dir': str(r.default_data_dir())}))")
    found = json.loads(_run(bin_dir / "python", "-c", script, cwd=work).stdout)
    assert str(REPO_ROOT) not in found["module"] and "site-packages" in found["root"]
    assert found["files"] == {name: True for name in resources.LAYOUT}
    assert found["data_dir"] == str(work / ".civicflow")
    for shipped in ("jurisdictions/nyc/SOURCES.md", "demo/SOURCES.md", "api/keys.yaml", "replay/nyc311.yaml",
                    "schemas/registry.json"):
        assert (Path(found["root"]) / shipped).is_file(), shipped
    version = _run(bin_dir / "civicflow", "--version", cwd=work).stdout.strip()
    assert re.fullmatch(r"civicflow \d+\.\d+\.\d+.*", version)


def test_a_replay_of_the_demo_file_from_the_installed_package(installed):
    bin_dir, work = installed
    demo = _run(bin_dir / "python", "-c", f"import importlib; r = importlib.import_module({resources.__name__!r}); "
                "print(r.path('demo/nyc311_sample_2011.csv'))", cwd=work).stdout.strip()
    done = _run(bin_dir / "civicflow", "replay", demo, "--json", "outcomes.jsonl", cwd=work)
    lines = (work / "outcomes.jsonl").read_text().splitlines()
    assert len(lines) == 999
    assert "990 of 990 rows with a due date" in done.stdout


def test_civicflow_run_routes_requests_from_the_installed_package(installed):
    bin_dir, work = installed
    env = {**_clean_env(), "CIVICFLOW_BROKER_PORT": str(_free_port()), "CIVICFLOW_WEB_PORT": str(_free_port()),
           "CIVICFLOW_API_PORT": str(_free_port())}
    process = subprocess.Popen([str(bin_dir / "civicflow"), "run", "--rate", "10"], cwd=work, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    routed, seen = 0, []
    deadline = time.monotonic() + 150
    try:
        for line in process.stdout:
            seen.append(line)
            found = re.search(r"route\s+\{.*'routed': (\d+)", line)
            routed = int(found.group(1)) if found else routed
            if routed > 0 or time.monotonic() > deadline:
                break
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
        seen.append(rest)
    output = "".join(seen)
    assert routed > 0, output[-3000:]
    assert "stopped: no civicflow process left running" in output and "Traceback" not in output
