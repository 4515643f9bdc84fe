"""Ports for the processes' /metrics and web pages: a second process on one host takes the next free one.

Probing a port and binding it later are two steps, so two processes started at the same instant could both find
one port free. A process that binds the port itself claims it: it holds a lock file for that port until it ends
(the system releases the lock however it ends, SIGKILL included), and another claim passes the port by.
"""

import fcntl
import os
import socket
import tempfile
from pathlib import Path

_held: dict[tuple[str, int], int] = {}  # the claims of this process: (host, port) → open lock file


def free_port(host: str, first: int, tries: int = 50) -> int:
    """The first port from `first` on that nothing listens on (for a child process that claims it itself)."""
    for port in range(first, first + tries):
        if bindable(host, port):
            return port
    raise OSError(f"no free port in {first}..{first + tries - 1}")


def claim_port(host: str, first: int, tries: int = 50) -> int:
    """The first port from `first` on that nothing listens on and no other process has claimed; this process
    keeps the claim until it ends."""
    for port in range(first, first + tries):
        held = (host, port) in _held
        descriptor = _held[(host, port)] if held else _lock(host, port)
        if descriptor is None:
            continue
        if bindable(host, port):
            _held[(host, port)] = descriptor
            return port
        if not held:
            os.close(descriptor)
    raise OSError(f"no free port in {first}..{first + tries - 1}")


def bindable(host: str, port: int) -> bool:
    """Whether nothing listens on host:port now (a process about to bind it can say so plainly when not)."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def _lock(host: str, port: int) -> int | None:
    """An open, exclusively locked file for the port, or None when another process holds it."""
    directory = Path(tempfile.gettempdir()) / "civicflow-ports"
    directory.mkdir(exist_ok=True)
    descriptor = os.open(directory / f"{host}-{port}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor
