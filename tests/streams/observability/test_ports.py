import socket
import subprocess
import sys

from civicflow.streams.observability import ports


def _listening() -> tuple[socket.socket, int]:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken, taken.getsockname()[1]


def test_a_port_something_listens_on_is_passed_by():
    taken, first = _listening()
    with taken:
        assert ports.free_port("127.0.0.1", first) > first
        assert ports.claim_port("127.0.0.1", first) > first


def test_a_port_another_process_claimed_is_passed_by_though_nothing_listens_yet():
    taken, first = _listening()
    taken.close()  # free now, as when two workers start at the same instant and neither has bound yet
    claimer = subprocess.Popen(
        [sys.executable, "-c", "import sys; from civicflow.streams.observability import ports; "
         f"print(ports.claim_port('127.0.0.1', {first}), flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert int(claimer.stdout.readline()) == first
        assert ports.free_port("127.0.0.1", first) == first  # a probe alone sees it free
        assert ports.claim_port("127.0.0.1", first) > first
    finally:
        claimer.communicate("")
    assert ports.claim_port("127.0.0.1", first) == first  # the claim ended with its process


def test_a_process_claiming_its_own_port_again_gets_it_again():
    taken, first = _listening()
    taken.close()
    assert ports.claim_port("127.0.0.1", first) == ports.claim_port("127.0.0.1", first) == first
