"""The launcher's supervisor restarts a child that exits, with growing waits while it keeps failing, and says so."""

import sys

from civicflow.services.launcher.service import BACKOFF_S, STABLE_S, Child, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _child(tmp_path, code: str = "import sys; sys.exit(3)") -> Child:
    return Child("worker", [sys.executable, "-c", code], {}, tmp_path / "worker.log")


def test_an_exited_child_is_restarted_after_a_growing_wait(tmp_path):
    clock, said = Clock(), []
    child = _child(tmp_path).start()
    child.started_at = clock.now
    child.process.wait()
    supervisor = Supervisor({"worker": child}, say=said.append, clock=clock)
    waits = []
    for _ in range(len(BACKOFF_S) + 1):
        supervisor.check()
        assert child.restart_at is not None, said
        waits.append(child.restart_at - clock.now)
        clock.now = child.restart_at
        supervisor.check()  # restarts it
        child.started_at = clock.now
        child.process.wait()
    assert waits == [*BACKOFF_S, BACKOFF_S[-1]]
    assert child.restarts == len(BACKOFF_S) + 1
    assert said[0].startswith("worker (pid ") and "exited with code 3; restarting it in 1 s" in said[0]
    assert said[1].startswith("worker restarted (pid ")


def test_a_child_that_ran_for_a_while_starts_again_from_the_first_wait(tmp_path):
    clock = Clock()
    child = _child(tmp_path).start()
    child.failures = 4
    child.started_at = clock.now - STABLE_S
    child.process.wait()
    Supervisor({"worker": child}, say=lambda _: None, clock=clock).check()
    assert child.restart_at - clock.now == BACKOFF_S[0]


def test_a_killed_child_is_named_by_its_signal_and_its_log_goes_on(tmp_path):
    clock, said = Clock(), []
    child = _child(tmp_path, "import os, signal; print('first run', flush=True); os.kill(os.getpid(), 9)").start()
    child.process.wait()
    supervisor = Supervisor({"worker": child}, say=said.append, clock=clock)
    supervisor.check()
    assert "exited with signal 9" in said[0]
    clock.now = child.restart_at
    supervisor.check()
    child.process.wait()
    assert (tmp_path / "worker.log").read_text().count("first run") == 2, "a restart appends to the log"


def test_stop_all_stops_running_children_and_forgets_pending_restarts(tmp_path):
    running = Child("api", [sys.executable, "-c", "import time; time.sleep(60)"], {}, tmp_path / "api.log").start()
    waiting = _child(tmp_path).start()
    waiting.process.wait()
    waiting.restart_at = 0.0
    Supervisor({"api": running, "worker": waiting}).stop_all(["api", "worker"])
    assert running.poll() is not None and waiting.restart_at is None
