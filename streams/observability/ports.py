"""Ports for the processes' /metrics and web pages: a second process on one host takes the next free one."""

import socket


def free_port(host: str, first: int, tries: int = 50) -> int:
    """The first port from `first` on that nothing listens on."""
    for port in range(first, first + tries):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port in {first}..{first + tries - 1}")
