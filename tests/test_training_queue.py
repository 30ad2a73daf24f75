"""The training queue: order, the cap of running jobs and per user, cancel, restart survival.

Starting a job is replaced by a stand-in that records the order and writes what the
real start writes (``launch.json`` with a live pid); a job "ends" when its run folder
gets the status a training writes. The real start is exercised by the sign-in browser
test, which trains through this queue.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from vidcore import runs, settings, training_queue
from vidcore.errors import InputError, RunError
from vidcore.views import launch

ALICE, BOB = "alice@example.com", "bob@example.com"


@pytest.fixture
def queue(tiny_demo, tmp_path, monkeypatch):
    """A local queue (in the runs folder) with one lane; returns the started jobs' ids."""
    monkeypatch.setenv(settings.RUNS, str(tmp_path / "runs"))
    monkeypatch.setenv(settings.SPACES, str(tmp_path / "spaces"))  # none: the local queue
    monkeypatch.setenv(settings.DEMO_DIR, str(tiny_demo))
    monkeypatch.setenv(settings.MAX_JOBS, "1")
    monkeypatch.setenv("VIDCORE_USER_TRAININGS", "2")
    started = []

    def start(job):
        started.append(job["id"])
        runs.write_json(f"{job['run_dir']}/{launch.LAUNCH}", {"argv": job["argv"],
                                                              "pid": os.getpid()})
        return os.getpid()

    monkeypatch.setattr(launch, "start_queued", start)
    return started


def _argv(tiny_demo, epochs: int) -> list[str]:
    return launch.train_argv(tiny_demo / "UCF-101", 1, "default", weights="none",
                             epochs=epochs)


def _end(job: dict, state: str = "finished") -> None:
    runs.write_json(f"{job['run_dir']}/{runs.STATUS}", {"state": state})


def test_jobs_start_in_order_within_the_caps(queue, tiny_demo):
    a1 = training_queue.submit(_argv(tiny_demo, 1), ALICE)
    a2 = training_queue.submit(_argv(tiny_demo, 2), ALICE)
    b1 = training_queue.submit(_argv(tiny_demo, 3), BOB)
    assert queue == [a1["id"]]  # one lane: the others wait
    shown = training_queue.overview()
    assert [(j["id"], j["position"]) for j in shown] == [(a1["id"], 0), (a2["id"], 1),
                                                         (b1["id"], 2)]
    assert launch.run_state(a2["run_dir"]) == {"state": "waiting"}
    assert "number 2 in line (no estimate" in training_queue.describe_wait(shown[2])
    with pytest.raises(InputError, match="2 trainings in the queue, the most one user"):
        training_queue.submit(_argv(tiny_demo, 4), ALICE)
    with pytest.raises(RunError, match="in the queue already"):
        training_queue.submit(_argv(tiny_demo, 3), BOB)
    _end(a1)
    training_queue.dispatch()
    assert queue == [a1["id"], a2["id"]]  # the oldest waiting one, not Bob's
    shown = training_queue.overview()
    assert [j["id"] for j in shown] == [a2["id"], b1["id"]]
    assert shown[1]["wait_s"] is not None  # a finished training gives the estimate
    assert "starts in about" in training_queue.describe_wait(shown[1])


def test_cancel_while_waiting_and_while_running(queue, tiny_demo):
    a1 = training_queue.submit(_argv(tiny_demo, 1), ALICE)
    b1 = training_queue.submit(_argv(tiny_demo, 2), BOB)
    with pytest.raises(RunError, match="of yours"):
        training_queue.cancel(b1["id"], owner=ALICE)
    training_queue.cancel(b1["id"], owner=BOB)
    assert launch.run_state(b1["run_dir"]) == {"state": "cancelled"}
    assert [j["id"] for j in training_queue.overview()] == [a1["id"]]
    training_queue.cancel(a1["id"], owner=ALICE)  # running: asked to stop
    assert (runs.read_json(f"{a1['run_dir']}/{launch.LAUNCH}") or {}).get("pid")
    assert os.path.isfile(f"{a1['run_dir']}/{runs.STOP}")
    _end(a1, "stopped")
    training_queue.dispatch()
    assert training_queue.overview() == []
    assert queue == [a1["id"]]  # the cancelled one never started
    with pytest.raises(RunError, match="no waiting or running job"):
        training_queue.cancel(b1["id"])


def test_the_queue_survives_a_restart(queue, tiny_demo, tmp_path, monkeypatch):
    a1 = training_queue.submit(_argv(tiny_demo, 1), ALICE)
    b1 = training_queue.submit(_argv(tiny_demo, 2), BOB)
    # the server goes away, and with it the training it ran: a pid that lives no more
    runs.write_json(f"{a1['run_dir']}/{launch.LAUNCH}", {"pid": 2**22 + 12345})
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    listed = subprocess.run([sys.executable, "-m", "vidcore", "queue", "ls", "--json"],
                            capture_output=True, text=True, env=env, check=True)
    assert [(j["id"], j["state"]) for j in json.loads(listed.stdout)] == [
        (a1["id"], "running"), (b1["id"], "waiting")]
    training_queue.dispatch()  # the next process to look: the dead one ends, Bob's starts
    jobs = {j["id"]: j for j in training_queue.read_jobs()}
    assert jobs[a1["id"]]["state"] == "failed"
    assert queue == [a1["id"], b1["id"]]
    assert settings.queue_dir() == tmp_path / "runs" / ".queue"
    assert (settings.queue_dir() / training_queue.STATE).is_file()
    assert not list(settings.queue_dir().glob(".queue.json.*"))  # written atomically


def test_with_ray_unreachable_jobs_wait_saying_why_then_start_on_the_server(
        queue, tiny_demo, monkeypatch):
    with socket.socket() as closed:  # a loopback port that nothing listens on
        closed.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{closed.getsockname()[1]}"
    monkeypatch.setenv("RAY_ADDRESS", address)
    job = training_queue.submit(_argv(tiny_demo, 1), ALICE)
    assert queue == []  # neither on the cluster nor, silently, on the server
    [shown] = training_queue.overview()
    said = training_queue.describe_wait(shown)
    # "does not answer ... fix RAY_ADDRESS" (or, without Ray, how to install it)
    assert said.startswith("waiting, number 1 in line: ") and "RAY_ADDRESS" in said
    assert "\n" not in said
    monkeypatch.delenv("RAY_ADDRESS")  # the server goes back to training itself
    assert [j["id"] for j in training_queue.dispatch()] == [job["id"]] == queue
    [shown] = training_queue.overview()
    assert "note" not in shown and "ray" not in shown
    assert training_queue.describe_wait(shown) == "running on the server"
