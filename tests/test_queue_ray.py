"""Queued trainings as Ray jobs (``vidcore.queue_on_ray``) on a local Ray on this machine.

The cluster is a child process of the test (``ray.init(address="local")`` there), so
the test process is only a client, as the server is: it never keeps a connection,
each queue operation connects anew and finds the jobs by their recorded address and
actor name, which is what a restarted server does. The trainings are the tiny world's
(cached features), each in its own process on the "node": the one that is cancelled
while it runs trains the Keras head; the one that finishes fits the linear head, whose
process never loads TensorFlow (about 7 s of CPU less on 2 cores).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.test_ray import import_ray  # Ray, or a skip (a failure in CI)
from vidcore import queue_on_ray, runs, settings, spaces, training_queue
from vidcore.data.sampling import UniformSampler
from vidcore.views import launch

ALICE, BOB = "alice@example.com", "bob@example.com"
CLUSTER = """
import sys, ray
context = ray.init(address="local", num_cpus=3, include_dashboard=False, log_to_driver=False,
                   object_store_memory=80 * 1024**2, configure_logging=False)
print(context.address_info["gcs_address"], flush=True)
sys.stdin.read()  # until the test closes this pipe
ray.shutdown()
"""


@pytest.fixture(scope="module")
def ray_address():
    """The address of a 3-CPU local Ray with token authentication and a token of its
    own, which this process and the cluster's get through the environment."""
    import_ray()
    from ray._private.authentication_test_utils import reset_auth_token_state

    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    cluster = subprocess.Popen([sys.executable, "-c", CLUSTER], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env={**env, **auth})
    with pytest.MonkeyPatch.context() as mp:
        for name, value in auth.items():
            mp.setenv(name, value)
        reset_auth_token_state()  # Ray read the authentication settings once already
        try:
            yield cluster.stdout.readline().strip()
        finally:
            cluster.stdin.close()
            cluster.wait(timeout=60)
    reset_auth_token_state()  # as before, for the next user of Ray in this process


def _argv(dataset, epochs: int, head: str = "temporal_conv") -> list[str]:
    """The tiny world's training (its features are stored), for ``epochs``."""
    return launch.train_argv(dataset, 1, "default", sampler=UniformSampler(4),
                             head=head, weights="none", epochs=epochs,
                             val_fraction=0.34, patience=0)


def _wait_for(check, what: str, seconds: float = 240):
    end = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < end, f"gave up waiting for {what}"
        time.sleep(0.5)
    return found


@pytest.mark.slow
def test_queued_trainings_run_finish_fail_and_cancel_on_ray(ray_address, world, tmp_path,
                                                            monkeypatch):
    import ray

    for name, value in {**world.env(tmp_path / "local-runs"), settings.SPACES: tmp_path / "sp",
                        settings.MAX_JOBS: 2, "VIDCORE_USER_TRAININGS": 3,
                        "RAY_ADDRESS": ray_address}.items():
        monkeypatch.setenv(name, str(value))
    alice, bob = spaces.open_space(ALICE), spaces.open_space(BOB)
    (tmp_path / "gone").symlink_to(world.dataset)  # Bob's dataset vanishes once queued

    def submit(space, dataset, epochs, head="temporal_conv"):  # as the app does, in the
        with spaces.use(space):  # user's own space
            return training_queue.submit(_argv(dataset, epochs, head), spaces.email_of(space))

    # Two lanes, taken by jobs that cannot end by themselves: what follows must wait.
    stopped = submit(alice, world.dataset, 500)
    monkeypatch.setenv("VIDCORE_RAY_TRAIN_CPUS", "99")  # more than the cluster has
    unplaced = submit(bob, world.dataset, 3)
    monkeypatch.delenv("VIDCORE_RAY_TRAIN_CPUS")
    waiting = submit(alice, world.dataset, 4)
    shown = {j["id"]: training_queue.describe_wait(j) for j in training_queue.overview()}
    assert shown[stopped["id"]] == f"running as a Ray job on {ray_address}"
    assert shown[waiting["id"]].endswith(f"runs as a Ray job on {ray_address}")
    assert Path(stopped["run_dir"]).parent == alice / "runs"  # into her own space
    training_queue.cancel(waiting["id"], owner=ALICE)  # while waiting: never reaches Ray
    assert launch.run_state(waiting["run_dir"]) == {"state": "cancelled"}
    done = submit(alice, world.dataset, 2, head="linear")
    failing = submit(bob, tmp_path / "gone", 2)
    (tmp_path / "gone").unlink()
    training_queue.cancel(unplaced["id"], owner=BOB)  # on Ray, but no node can take it
    assert runs.read_status(unplaced["run_dir"])["error"] == (
        "cancelled before it started on the Ray cluster")
    assert not ray.is_initialized()  # the "server" keeps no connection between calls

    _wait_for(lambda: (Path(stopped["run_dir"]) / runs.CONFIG).is_file(), "a running training")
    training_queue.cancel(stopped["id"], owner=ALICE)  # while it runs on Ray

    def asked(state=None):  # from another thread, as the server's page scripts ask
        with ThreadPoolExecutor(1) as thread:
            thread.submit(training_queue.dispatch).result()
        jobs = {j["id"]: j["state"] for j in training_queue.read_jobs()}
        return all(jobs[j["id"]] != training_queue.WAITING if state is None
                   else jobs[j["id"]] not in training_queue.ACTIVE
                   for j in (done, stopped, failing))

    _wait_for(asked, "the last job to start")
    monkeypatch.delenv("RAY_ADDRESS")  # a server restarted without it still follows them
    _wait_for(lambda: asked("ended"), "the Ray jobs to end")
    jobs = {j["id"]: j for j in training_queue.read_jobs()}
    assert [jobs[j["id"]]["state"] for j in (done, stopped, failing, unplaced, waiting)] == [
        "finished", "stopped", "failed", "stopped", "cancelled"]
    assert all(jobs[j["id"]]["ray"]["address"] == ray_address for j in (done, stopped, failing))
    failed = runs.read_status(failing["run_dir"])
    assert "gone does not exist" in failed["error"] and "\n" not in failed["error"]
    with spaces.use(alice):  # usable: a finished run with its model, listed as hers
        runs.check_run_dir(done["run_dir"])
        assert done["run_dir"] in [str(r["path"]) for r in runs.list_runs()]
    with queue_on_ray.connected(ray_address) as connection:  # no actor holds CPUs any more
        _wait_for(lambda: connection.available_resources().get("CPU") == 3, "the CPUs back", 30)


def test_ray_is_asked_about_a_running_job_at_most_every_half_minute(tmp_path, monkeypatch):
    """The queue panel reaps every 2 s for every user: a job's run folder answers each
    time, Ray (a connection each) only every ``ASK_RAY_SECONDS``; a job whose actor is
    gone without a recorded end reads as failed, with a one-line reason."""
    asked, alive, clock = [], [True], [1000.0]

    class Cluster:
        @staticmethod
        def get_actor(name, namespace):
            asked.append((name, namespace))
            if not alive[0]:
                raise ValueError(f"Failed to look up actor {name}")

    @contextlib.contextmanager
    def connected(address):
        assert address == "head:6379"
        yield Cluster

    monkeypatch.setattr(queue_on_ray, "connected", connected)
    monkeypatch.setattr(queue_on_ray, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(queue_on_ray, "_asked", {})
    job = {"id": "0123456789ab", "run_dir": str(tmp_path), "ray": {"address": "head:6379"}}
    assert [queue_on_ray.ended_state(job) for _ in range(3)] == [None] * 3
    assert asked == [("vidcore-train-0123456789ab", queue_on_ray.NAMESPACE)]
    clock[0] += queue_on_ray.ASK_RAY_SECONDS
    alive[0] = False
    (tmp_path / launch.LOG).write_text("Epoch 3/9\nKilled by the out-of-memory killer\n")
    assert queue_on_ray.ended_state(job) == "failed"
    assert len(asked) == 2
    assert runs.read_status(tmp_path)["error"] == (
        "the Ray job ended without a result: Killed by the out-of-memory killer")
    assert queue_on_ray.ended_state(job) == "failed"  # from the run folder: Ray not asked
    assert len(asked) == 2
