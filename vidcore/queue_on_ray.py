"""Queued trainings as Ray jobs: with ``RAY_ADDRESS`` set, each one runs on the cluster.

The queue (``vidcore.training_queue``) still decides when a training starts and how
many run at once; only where it runs changes. The choice, and why:

- One detached, named Ray actor per training (``vidcore-train-<job id>`` in the
  ``vidcore-queue`` namespace), reserving ``VIDCORE_RAY_TRAIN_CPUS`` CPUs. Its
  constructor starts ``vidcore [--user OWNER] queue run JOB`` as a child process on the
  node it lands on, the same command a training queued on the server runs, and
  returns. A detached actor belongs to the cluster, not to the process that made it:
  the server may stop, restart or lose its connection, and a new one finds the job
  again by its name. Not a Ray task: a task dies with the process that submitted it.
  Not Ray's Jobs API: it needs Ray's dashboard (``ray[default]``), which the project's
  Ray pin does not install; an actor needs nothing but the cluster.
- The child dies with its actor (``PR_SET_PDEATHSIG``), so killing the actor (a job
  cancelled before it started, a node shut down) leaves no training running unseen;
  when the child ends, the actor records a failure the training could not record
  itself (the last line of its log) and exits, handing its CPUs back.
- The cluster shares the server's filesystem: the run folder, the queue file, the
  users' spaces, the datasets and the feature store are at the same absolute paths
  on every node (NFS, a cloud file share; on one machine, trivially). The training
  writes its run folder atomically, as on the server; cancel writes the run's
  ``STOP`` file as on the server. The server's ``VIDCORE_*`` folders and limits are
  handed to the child explicitly, so a node started with other settings still trains
  into the same places.
- Each operation connects to the cluster and disconnects at its end (0.06-1.7 s,
  mostly 0.3 s, on the 2-core development machine at load 13): the server never stays
  a Ray driver, so a cluster restart cannot take the server down with it. Since the
  queue panel looks at the queue every 2 s for every user, a running job's end is read
  from its run folder (cheap, shared), and Ray is asked whether its actor still lives
  (for a lost node) at most every ``ASK_RAY_SECONDS`` in a process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from vidcore import runs, settings
from vidcore.errors import InputError
from vidcore.views import launch

log = logging.getLogger(__name__)

NAMESPACE = "vidcore-queue"
ENDED = ("finished", "stopped", "failed")
REACH_SECONDS = 3.0  # a cluster that does not answer a TCP connect in this long is down
PR_SET_PDEATHSIG = 1  # prctl option: the signal a process gets when its parent dies
ANSWER_SECONDS = 2.0  # an actor that does not answer in this long has not started yet
_CONNECT_LOCK = threading.Lock()  # ray.init and ray.shutdown act on the whole process
ASK_RAY_SECONDS = 30.0  # a lost actor is noticed this much later, at most
_asked: dict[str, float] = {}  # job id -> when this process last asked Ray about it


def actor_name(job: dict) -> str:
    """The Ray actor that runs a job (the job id is 12 hex digits: a safe name)."""
    return f"vidcore-train-{job['id']}"


def where(job: dict) -> str:
    """Where a job runs, or will run, in words: "on the server", "as a Ray job on ADDR"."""
    address = (job.get("ray") or {}).get("address")
    if address is None and job.get("state") == "waiting":
        address = settings.ray_address()
    return f"as a Ray job on {address}" if address else "on the server"


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise InputError("RAY_ADDRESS is set, so queued trainings run on Ray, which is not "
                         "installed; install it with: .venv/bin/pip install -r "
                         "requirements-ray.txt (or unset RAY_ADDRESS)") from err
    return ray


def _check_reachable(address: str) -> None:
    """Fail in seconds, not Ray's minute of retries, when nothing listens at ``address``."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and the like: Ray finds the cluster itself
    try:
        socket.create_connection((host, int(port)), timeout=REACH_SECONDS).close()
    except OSError as err:
        raise InputError(f"the Ray cluster at {address} does not answer ({err.strerror or err}); "
                         "start it (`ray start --head --port=6379`) or fix RAY_ADDRESS") from None


@contextlib.contextmanager
def connected(address: str) -> Iterator[object]:
    """The ``ray`` module connected to the cluster at ``address`` for the block.

    A connection the process already has is used as it is and kept.

    Raises:
        InputError: Ray is not installed, or the cluster cannot be reached.
    """
    ray = _import_ray()
    with _CONNECT_LOCK:
        if ray.is_initialized():
            yield ray
            return
        _check_reachable(address)
        try:
            ray.init(address=address, namespace=NAMESPACE, log_to_driver=False,
                     configure_logging=False, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as err:
            raise InputError(
                f"cannot connect to the Ray cluster at {address}: {str(err).splitlines()[0]}; "
                "a cluster with token authentication also needs RAY_AUTH_MODE=token and its "
                "token in RAY_AUTH_TOKEN") from None
        try:
            yield ray
        finally:
            ray.shutdown()


def child_env(address: str) -> dict[str, str]:
    """What the training's process gets on the node: the server's settings with its
    folders made absolute (``settings.forwarded_environment``) and the cluster's
    address (so the job, as it ends, starts the next one on the same cluster)."""
    return {**settings.forwarded_environment(), "RAY_ADDRESS": address,
            "TF_CPP_MIN_LOG_LEVEL": "2"}


def start(job: dict, address: str) -> dict:
    """Start a job on the cluster; return what the queue records of it (``address``,
    ``actor``). Ray may hold it until a node has the CPUs free.

    Raises:
        InputError: Ray missing, or the cluster unreachable.
    """
    user = ["--user", job["owner"]] if job["owner"] else []
    argv = [*user, "queue", "run", job["id"]]
    with connected(address) as ray:
        actor = ray.remote(TrainingActor).options(
            name=actor_name(job), namespace=NAMESPACE, lifetime="detached", max_restarts=0,
            num_cpus=settings.limit("ray_train_cpus"))
        actor.remote(argv, child_env(address), job["run_dir"])
    marker = Path(job["run_dir"]) / launch.QUEUED
    runs.write_json(marker, {**runs.read_json(marker, {}), "state": "starting"})
    log.info("queued training %s started as Ray actor %s on %s", job["id"], actor_name(job),
             address)
    return {"address": address, "actor": actor_name(job)}


def ended_state(job: dict) -> str | None:
    """How a job that runs on Ray has ended, or None while it runs (or waits for a node).

    The run folder answers first; when it says nothing final and Ray has no actor for
    the job any more (its node was lost, it was killed), the run is marked failed with
    that reason. A cluster that cannot be reached right now leaves the job running.
    Ray is asked at most every ``ASK_RAY_SECONDS`` about one job.
    """
    run_dir = job["run_dir"]
    if (now := _final(run_dir)) is not None:
        _asked.pop(job["id"], None)
        return now
    if time.monotonic() - _asked.get(job["id"], -ASK_RAY_SECONDS) < ASK_RAY_SECONDS:
        return None
    _asked[job["id"]] = time.monotonic()
    try:
        with connected(job["ray"]["address"]) as ray:
            try:
                ray.get_actor(actor_name(job), namespace=NAMESPACE)
                return None
            except ValueError:  # no such actor alive: the job is over
                pass
    except InputError as err:
        log.warning("cannot ask Ray about training %s: %s", job["id"], err)
        return None
    if (now := _final(run_dir)) is not None:  # it ended between the two looks
        return now
    reason = launch.log_tail(run_dir, 1) or "its Ray worker or node was lost"
    runs.mark_ended(run_dir, "failed", f"the Ray job ended without a result: {reason}")
    return "failed"


def _final(run_dir: str) -> str | None:
    """The run's end state as this host reads it (a dead process here reads as failed)."""
    state = runs.read_status(run_dir).get("state")
    return state if state in ENDED else None


def _recorded_end(run_dir: str) -> str | None:
    """The end state the run's status file holds (None: none recorded yet)."""
    state = (runs.read_json(Path(run_dir) / runs.STATUS, {}) or {}).get("state")
    return state if state in ENDED else None


def cancel(job: dict) -> None:
    """Stop a job running on Ray: its ``STOP`` file (it ends after its current batch and
    keeps its best model); an actor still waiting for a node is removed at once."""
    run_dir = Path(job["run_dir"])
    runs.write_text(run_dir / runs.STOP, "stop requested while it ran on Ray\n")
    try:
        with connected(job["ray"]["address"]) as ray:
            try:
                actor = ray.get_actor(actor_name(job), namespace=NAMESPACE)
            except ValueError:
                return  # ended already
            ready, _ = ray.wait([actor.pid.remote()], timeout=ANSWER_SECONDS)
            if not ready:  # never started on a node: nothing to stop gracefully
                ray.kill(actor)
                runs.mark_ended(run_dir, "stopped", "cancelled before it started on the "
                                                    "Ray cluster")
    except InputError as err:  # the STOP file is there: it stops once it runs again
        log.warning("cannot reach Ray to cancel training %s: %s", job["id"], err)


def bind_to_actor() -> None:
    """Called first by the training a ``TrainingActor`` started (``vidcore queue run``):
    die with the actor (``PR_SET_PDEATHSIG``, Linux), and yield the CPU to whatever
    else the node serves, as queued trainings do on the server.

    Done in the child itself, not between fork and exec: the actor's process runs
    Ray's threads, and Python code there after a fork may deadlock.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.nice(launch.QUEUED_NICE)


class TrainingActor:
    """The Ray actor of one queued training: starts it on its node, outlives its caller.

    Args:
        argv: the ``vidcore`` arguments (``[--user OWNER] queue run JOB``).
        env: variables for the child (``child_env``).
        run_dir: the job's run folder (its ``train.log`` gets the child's output).
    """

    def __init__(self, argv: list[str], env: dict[str, str], run_dir: str):
        self.run_dir = run_dir
        with open(Path(run_dir) / launch.LOG, "ab") as log_file:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vidcore", *argv], stdin=subprocess.DEVNULL,
                stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, **env},
                start_new_session=True)
        threading.Thread(target=self._wait, name="training", daemon=True).start()

    def pid(self) -> int:
        """The training's process id on this node (answers once the actor runs)."""
        return self.proc.pid

    def _wait(self) -> None:
        code = self.proc.wait()
        if code and _recorded_end(self.run_dir) is None:
            reason = launch.log_tail(self.run_dir, 1).removeprefix("vidcore: error: ")
            reason = reason or f"it exited with status {code}"
            runs.mark_ended(self.run_dir, "failed", reason)
        # ray.actor.exit_actor() works only on the actor's task thread; this ends the
        # actor from here, once nothing of the training is left running.
        os._exit(0)
