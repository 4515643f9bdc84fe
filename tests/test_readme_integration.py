"""Every shell and Python block of README.md runs as printed, against a test platform.

The platform is `civicflow run` on free ports with its data directory in a scratch folder laid out like the
checkout (`.venv` and `../shared` are links), so the README's relative paths hold. Blocks run in README order, one
command line at a time (a line ending in a backslash continues), with:
  - the API's documented address, 127.0.0.1:8311, replaced by the test platform's (its ports are free ones);
  - a command that runs until stopped (`civicflow tail` without --exit or --max) stopped once it has printed its
    first event, or after a few seconds when none came;
  - a capitalised placeholder inside a path (`…-RUN.sqlite3`) filled with the newest file that matches it.

Annotations, an HTML comment on the line just before a block's opening fence:
  <!-- readme-test: skip REASON -->   the block is not run, and the test says why
A block of `make` targets is skipped without one (they start the platform on its fixed ports or run the whole
suite, which this test is part of). Blocks without a language (program output) are never run.
"""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from civicflow.streams.settings import REPO_ROOT

README = REPO_ROOT / "README.md"
RUNNABLE = {"sh": "shell", "bash": "shell", "shell": "shell", "console": "shell", "python": "python",
            "py": "python"}
ANNOTATION = re.compile(r"<!--\s*readme-test:\s*(\w+)\s*(.*?)\s*-->")
DOCUMENTED_API = "127.0.0.1:8311"
UNTIL_STOPPED_S = 8


@dataclass(frozen=True)
class Block:
    line: int          # of the opening fence, 1-based
    kind: str          # shell or python
    text: str
    skip: str | None   # the reason it is not run


def blocks(markdown: str) -> list[Block]:
    """The README's shell and Python blocks, with the annotation before each."""
    found, lines, number = [], markdown.splitlines(), 0
    while number < len(lines):
        fence = re.match(r"^(```+)\s*([\w+-]*)", lines[number])
        if not fence:
            number += 1
            continue
        end = next((n for n in range(number + 1, len(lines)) if lines[n].startswith(fence.group(1))), len(lines))
        language = fence.group(2).lower()
        if language in RUNNABLE:
            before = lines[number - 1] if number else ""
            annotation = ANNOTATION.search(before)
            body = "\n".join(lines[number + 1:end])
            skip = None
            if annotation and annotation.group(1) == "skip":
                skip = annotation.group(2) or "annotated skip"
            elif RUNNABLE[language] == "shell" and re.search(r"^\s*make\b", body, flags=re.M):
                skip = "make targets: fixed ports or the whole suite (the default rule)"
            found.append(Block(line=number + 1, kind=RUNNABLE[language], text=body, skip=skip))
        number = end + 1
    return found


def commands(block: Block) -> list[str]:
    """One shell command per logical line (backslash continuations joined), comments kept out."""
    joined = re.sub(r"\s*\\\n\s*", " ", block.text)
    return [line.split(" #")[0].strip() for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def until_stopped(command: str) -> bool:
    return "civicflow tail" in command and not re.search(r"--(exit|max)\b|\s-[ec]\s", command)


def run_until_stopped(argv: list[str], *, cwd: Path, env: dict) -> tuple[int | None, str]:
    """Start a command that runs until stopped and stop it once it has printed something (an event), or after
    UNTIL_STOPPED_S. Returns its exit code when it ended by itself (else None) and what it wrote on stderr."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=errors)
        readable, _, _ = select.select([process.stdout], [], [], UNTIL_STOPPED_S)
        ended = bool(readable) and not os.read(process.stdout.fileno(), 65536)  # end of output: it exited
        if not ended:
            process.kill()
        code = process.wait()
        process.stdout.close()
        errors.seek(0)
        return (code if ended else None), errors.read().decode(errors="replace")


def fill_placeholders(command: str, cwd: Path) -> str:
    """A path with a capitalised placeholder (…-RUN.sqlite3) becomes the newest existing file matching it."""
    def fill(match):
        word = match.group(0)
        pattern = re.sub(r"\b[A-Z]{2,}\b", "*", word)
        if pattern == word or (cwd / word).exists():
            return word
        found = sorted(cwd.glob(pattern), key=lambda p: p.stat().st_mtime)
        return str(found[-1].relative_to(cwd)) if found else word
    return re.sub(r"[\w./-]*/[\w./-]*\b[A-Z]{2,}\b[\w./-]*", fill, command)


def test_blocks_and_annotations_are_read():
    sample = ("```sh\nmake run\n```\n\n<!-- readme-test: skip needs a cluster -->\n```bash\nls \\\n  -l  # list\n```\n"
              "```\noutput\n```\n```python\nprint(1)\n```\n")
    found = blocks(sample)
    assert [(b.kind, b.skip) for b in found] == [("shell", "make targets: fixed ports or the whole suite (the "
                                                   "default rule)"), ("shell", "needs a cluster"), ("python", None)]
    assert commands(found[1]) == ["ls -l"]
    assert until_stopped(".venv/bin/civicflow tail requests.routed") and not until_stopped("civicflow tail x --exit")


def test_placeholders_are_filled(tmp_path):
    (tmp_path / "replays").mkdir()
    (tmp_path / "replays" / "city-1a2b.sqlite3").touch()
    assert fill_placeholders("report replays/city-RUN.sqlite3 --csv x", tmp_path) == "report replays/city-1a2b.sqlite3 --csv x"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """(working directory laid out like the checkout, environment, API address) with `civicflow run` running."""
    scratch = tmp_path_factory.mktemp("readme")
    work = scratch / "civicflow"
    work.mkdir()
    (work / ".venv").symlink_to(REPO_ROOT / ".venv")
    if (REPO_ROOT.parent / "shared").exists():
        (scratch / "shared").symlink_to(REPO_ROOT.parent / "shared")
    broker, api = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CIVICFLOW_", "KAFKA_"))}
    env.update(CIVICFLOW_DATA_DIR=str(work / ".civicflow"), CIVICFLOW_BROKER_PORT=str(broker),
               CIVICFLOW_API_PORT=str(api), CIVICFLOW_WEB_PORT=str(_free_port()))
    process = subprocess.Popen([str(REPO_ROOT / ".venv" / "bin" / "civicflow"), "run", "--rate", "10"], cwd=work,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 150
    for line in process.stdout:
        if re.search(r"route\s+\{.*'routed': [1-9]", line) or time.monotonic() > deadline:
            break
    clients = {**env, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker}", "CIVICFLOW_BROKER_KIND": "embedded"}
    try:
        yield work, clients, f"127.0.0.1:{api}"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
        shutil.rmtree(work / ".civicflow", ignore_errors=True)


BLOCKS = blocks(README.read_text(encoding="utf-8"))


@pytest.mark.integration
@pytest.mark.own_platform
@pytest.mark.parametrize("block", BLOCKS, ids=[f"line{b.line}" for b in BLOCKS])
def test_readme_block_runs_as_printed(block, platform):
    if block.skip:
        pytest.skip(f"README.md line {block.line}: {block.skip}")
    work, env, api = platform
    runs = [["bash", "-c", fill_placeholders(c.replace(DOCUMENTED_API, api), work)] for c in commands(block)] \
        if block.kind == "shell" else [[str(REPO_ROOT / ".venv" / "bin" / "python"), "-c",
                                        block.text.replace(DOCUMENTED_API, api)]]
    for argv in runs:
        if until_stopped(argv[-1]):
            code, said = run_until_stopped(argv, cwd=work, env=env)
            assert code in (None, 0) and "Traceback" not in said, (
                f"README.md line {block.line}: `{argv[-1]}` exited {code}:\n{said[-2000:]}")
            continue
        try:
            done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"README.md line {block.line}: `{argv[-1]}` did not finish in 300 s") from None
        assert done.returncode == 0 and "Traceback" not in done.stderr, (
            f"README.md line {block.line}: `{argv[-1]}` exited {done.returncode}:\n{done.stderr[-2000:]}\n"
            f"{done.stdout[-1000:]}\nChange the README (or annotate the block: <!-- readme-test: skip REASON -->)")
