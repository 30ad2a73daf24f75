"""One queue for the trainings of a shared server: at most N running, the rest waiting.

The queue is a JSON file (``settings.queue_dir()/queue.json``), changed only under a
file lock and written atomically, so it survives a server restart and any process
may drive it: the app, ``vidcore train --queue``, and each queued training itself,
which starts the next waiting one as it ends (``vidcore queue run``). Nothing needs a
server running for the queue to move.

A job's run folder exists from the moment it is queued (``queued.json`` in it says
so); ``vidcore.views.launch`` writes its ``launch.json`` when it starts, and from then
on it is a run like any other. Queued trainings run at a lower CPU priority, so that
predictions in the server (Predict, Live) never wait behind one.

Where a training runs: on the server, or, with ``RAY_ADDRESS`` set when it starts, as
a Ray job on that cluster (``vidcore.queue_on_ray``; the job records the address, so
it is followed and cancelled there even by a server started without it).
"""

from __future__ import annotations

import contextlib
import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from vidcore import queue_on_ray, runs, settings
from vidcore.errors import InputError, RunError
from vidcore.locking import exclusive
from vidcore.spaces import limits, quotas
from vidcore.views import launch
from vidcore.views.launch import QUEUED

STATE = "queue.json"
WAITING, RUNNING = "waiting", "running"
ACTIVE = (WAITING, RUNNING)
KEPT_ENDED = 200  # ended jobs kept for the estimates


@contextlib.contextmanager
def _locked() -> Iterator[list[dict]]:
    """The jobs, under the queue's lock; written back atomically when the block ends."""
    folder = settings.queue_dir()
    with exclusive(folder / ".lock"):
        jobs = read_jobs()
        yield jobs
        ended = [j for j in jobs if j["state"] not in ACTIVE][-KEPT_ENDED:]
        runs.write_json(folder / STATE, [j for j in jobs if j["state"] in ACTIVE or j in ended])


def read_jobs() -> list[dict]:
    """Every job the queue knows, oldest first (a damaged file reads as empty)."""
    jobs = runs.read_json(settings.queue_dir() / STATE, [])
    return jobs if isinstance(jobs, list) else []


def submit(argv: list[str], owner: str = "") -> dict:
    """Queue a training (``vidcore train`` arguments); start it at once when there is room.

    Args:
        argv: the ``vidcore train`` arguments (``launch.train_argv``), no ``--run-dir``.
        owner: the e-mail of the space it trains in ("" for the local space).

    Returns:
        The job: ``id``, ``owner``, ``run_dir``, ``state``, ``submitted``.

    Raises:
        InputError: the owner has the most trainings one user may queue, the space is
            full, or the options are invalid (``launch.planned_config``).
        RunError: the same training is already in the queue for this owner.
    """
    from vidcore.data.splits import check_split_of

    config = launch.planned_config(argv)
    check_split_of(config)
    quotas.check_disk()
    with _locked() as jobs:
        mine = [j for j in jobs if j["state"] in ACTIVE and j["owner"] == owner]
        cap = limits.limit_for("user_trainings", owner)
        if len(mine) >= cap:
            raise InputError(f"you have {len(mine)} trainings in the queue, the most one user "
                             "may have; wait for one to end or cancel one")
        if any(j["argv"] == argv for j in mine):
            raise RunError("this very training is in the queue already; watch it below or "
                           "cancel it before queueing it again")
        run_dir = runs.new_run_dir(runs.run_name(config.to_dict()))
        run_dir.mkdir(parents=True)
        job = {"id": uuid.uuid4().hex[:12], "owner": owner, "argv": argv,
               "run_dir": str(run_dir), "state": WAITING, "submitted": time.time()}
        runs.write_json(run_dir / QUEUED, {**job, "config": config.to_dict()})
        jobs.append(job)
    dispatch()
    return job


def dispatch() -> list[dict]:
    """Mark ended jobs, then start waiting ones, oldest first, while fewer than
    ``settings.max_jobs()`` run. Returns the jobs it started.

    With ``RAY_ADDRESS`` set a job starts on that Ray cluster; a cluster that cannot
    be reached starts none, and the next in line says why (``note``).
    """
    started = []
    with _locked() as jobs:
        _reap(jobs)
        room = settings.max_jobs() - sum(j["state"] == RUNNING for j in jobs)
        for job in [j for j in jobs if j["state"] == WAITING][:max(0, room)]:
            address = settings.ray_address()
            try:
                _start(job, address)
            except InputError as err:  # the cluster is down: the jobs wait, saying so
                job["note"] = str(err)
                break
            started.append(job)
    return started


def _start(job: dict, address: str | None) -> None:
    if address:
        job["ray"] = queue_on_ray.start(job, address)
    else:
        job["pid"] = launch.start_queued(job)
    job.pop("note", None)
    job.update(state=RUNNING, started=time.time())


def _reap(jobs: list[dict]) -> None:
    """Running jobs whose training has ended get its end state."""
    for job in jobs:
        if job["state"] != RUNNING:
            continue
        if job.get("ray"):
            now = queue_on_ray.ended_state(job)
        else:
            now = launch.run_state(job["run_dir"])["state"]
            now = None if now in ("starting", "running") else now
        if now is not None:
            job.update(state=now, ended=time.time())


def cancel(job_id: str, owner: str | None = None) -> dict:
    """Cancel a job: a waiting one leaves the queue, a running one is asked to stop
    (it ends after its current batch, keeping its best model).

    Args:
        owner: only a job of this owner may be cancelled (None: any, for admins).

    Raises:
        RunError: no such job (of this owner), or it has ended already.
    """
    with _locked() as jobs:
        job = next((j for j in jobs if j["id"] == job_id
                    and (owner is None or j["owner"] == owner)), None)
        if job is None or job["state"] not in ACTIVE:
            raise RunError(f"there is no waiting or running job {job_id!r} of yours; "
                           "'vidcore queue ls' lists them")
        if job["state"] == WAITING:
            job.update(state="cancelled", ended=time.time())
            marker = Path(job["run_dir"]) / QUEUED
            runs.write_json(marker, {**runs.read_json(marker, {}), "state": "cancelled"})
        elif job.get("ray"):
            queue_on_ray.cancel(job)
        else:
            launch.request_stop(job["run_dir"])
    dispatch()
    return job


def job_of(job_id: str) -> dict:
    """One job by id.

    Raises:
        RunError: the queue has no such job.
    """
    for job in read_jobs():
        if job["id"] == job_id:
            return job
    raise RunError(f"the queue has no job {job_id!r}; 'vidcore queue ls' lists them")


def typical_seconds(jobs: list[dict]) -> float | None:
    """The median time a training here took, from the ended jobs (None before the first)."""
    took = [j["ended"] - j["started"] for j in jobs
            if j["state"] == "finished" and j.get("started") and j.get("ended")]
    return statistics.median(took) if took else None


def overview(jobs: list[dict] | None = None) -> list[dict]:
    """The waiting and running jobs, each with its ``position`` (1 = next to start,
    0 = running) and ``wait_s``, an estimate of the seconds until it starts (None
    while no training has finished here)."""
    jobs = read_jobs() if jobs is None else jobs
    typical, lanes = typical_seconds(jobs), settings.max_jobs()
    shown, position = [], 0
    for job in jobs:
        if job["state"] == RUNNING:
            shown.append({**job, "position": 0, "wait_s": 0.0})
        elif job["state"] == WAITING:
            position += 1
            wait = None if typical is None else ((position - 1) // lanes + 1) * typical
            shown.append({**job, "position": position, "wait_s": wait})
    return shown


def describe_wait(job: dict) -> str:
    """How the app and the CLI say where a job stands, and where it runs."""
    where = queue_on_ray.where(job)
    if job["position"] == 0:
        return f"running {where}"
    if job.get("note"):
        return f"waiting, number {job['position']} in line: {job['note']}"
    if job["wait_s"] is None:
        return f"waiting, number {job['position']} in line (no estimate before a first " \
               f"training has finished here); runs {where}"
    return f"waiting, number {job['position']} in line, starts in about " \
           f"{max(1, round(job['wait_s'] / 60))} min; runs {where}"
