"""A throwaway PostgreSQL cluster for the test session: initdb in a temporary folder, started on a free port.

The server binaries come from Debian's `postgresql` package (`make tools` installs it where missing). initdb
refuses to run as root, so as root the cluster is created and run as an unprivileged user (`postgres`, which the
package creates, else `nobody`), owning the folder. Trust authentication on 127.0.0.1 only; the cluster and its
folder are removed when the session ends.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine, or the throwaway cluster would not start."""


def find_bindir() -> Path | None:
    """The folder with initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda path: int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit()
                      else 0)
    return Path(versions[-1]).parent if versions else None


def _run_as() -> pwd.struct_passwd | None:
    """The user to run the cluster as: None when not root, else `postgres` or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and neither a `postgres` nor a `nobody` user exists for initdb")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL cluster of its own, on 127.0.0.1:port, superuser `postgres` with trust authentication."""

    bindir: Path
    port: int = field(default_factory=_free_port)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="civicflow-pg-")))
    started: bool = field(default=False, init=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, args: list[str], *, timeout_s: float) -> subprocess.CompletedProcess:
        user = _run_as()
        kwargs = {}
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, cwd=self.root,
                              env={**os.environ, "LC_ALL": "C", "LANG": "C"}, **kwargs)

    def start(self) -> "ThrowawayPostgres":
        user = _run_as()
        self.root.chmod(0o755)
        if user is not None:
            os.chown(self.root, user.pw_uid, user.pw_gid)
        init = self._run([str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--no-sync"], timeout_s=120)
        if init.returncode:
            raise PostgresUnavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        started = self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.root / "log"),
                             "-o", options, "-w", "-t", "60", "start"], timeout_s=90)
        if started.returncode:
            log = (self.root / "log").read_text(errors="replace") if (self.root / "log").exists() else ""
            raise PostgresUnavailable(f"pg_ctl start failed: {started.stderr.strip()} {log[-2000:]}")
        self.started = True
        self._wait_ready(timeout_s=30)
        return self

    def _wait_ready(self, *, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise PostgresUnavailable(f"the throwaway cluster does not listen on {self.port} after {timeout_s} s")

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        if self.started:
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop"],
                      timeout_s=60)
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)


def start_throwaway() -> ThrowawayPostgres:
    """A started throwaway cluster, or PostgresUnavailable saying why not."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable("no PostgreSQL server binaries (initdb, pg_ctl): `make tools` installs Debian's "
                                  "postgresql package where apt-get is usable")
    server = ThrowawayPostgres(bindir=bindir)
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise
