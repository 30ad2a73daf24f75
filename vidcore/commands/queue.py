"""``vidcore queue``: the training queue: list it, cancel a job, run one (the worker)."""

from __future__ import annotations

from vidcore.commands.output import print_json


def add_parser(sub):
    """Register the ``queue`` command."""
    parser = sub.add_parser("queue", help="the training queue (vidcore train --queue)")
    what = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = what.add_parser("ls", help="the waiting and running trainings")
    ls.add_argument("--json", action="store_true", help="print one JSON list")
    cancel = what.add_parser("cancel", help="cancel a waiting job or stop a running one")
    cancel.add_argument("job", metavar="JOB", help="the job id ('vidcore queue ls')")
    work = what.add_parser("run", help="train one started job, then start the next "
                                       "(what the queue itself runs)")
    work.add_argument("job", metavar="JOB")
    return parser


def run(args) -> int:
    """List, cancel or run a job."""
    from vidcore import training_queue

    if args.action == "ls":
        jobs = training_queue.overview()
        if args.json:
            print_json(jobs)
            return 0
        for job in jobs:
            print(f"{job['id']}  {job['owner'] or 'local'}  {training_queue.describe_wait(job)}"
                  f"  {job['run_dir']}")
        print(f"{len(jobs)} in the queue")
        return 0
    if args.action == "cancel":
        job = training_queue.cancel(args.job)
        print(f"{job['id']}: {'cancelled' if job['state'] == 'cancelled' else 'stop requested'}")
        return 0
    return _work(training_queue.job_of(args.job))


def queue_training(args) -> int:
    """``--queue``: put this training in the queue; print the job and where it stands."""
    from vidcore import spaces, training_queue
    from vidcore.errors import InputError

    if args.run_dir or args.evaluate or args.activate:
        raise InputError("--queue picks its own run folder and only trains: leave out "
                         "--run-dir, --evaluate and --activate")
    argv = args.raw_argv[args.raw_argv.index("train"):]
    owner = args.user and spaces.check_email(args.user)
    job = training_queue.submit([a for a in argv if a != "--queue"], owner=owner or "")
    where = next((j for j in training_queue.overview() if j["id"] == job["id"]), job)
    if args.json:
        print_json(where)
        return 0
    state = training_queue.describe_wait(where) if "position" in where else where["state"]
    print(f"queued job {job['id']}: {state}\n{job['run_dir']}")
    return 0


def _work(job: dict) -> int:
    """Train the job into its run folder; start the next waiting job however it ends.

    On a Ray node (the job records its cluster) it first ties itself to its actor and
    marks the run started where every host can read it (see ``_started_on_ray``).
    """
    from vidcore import cli, training_queue

    if job.get("ray"):
        _started_on_ray(job)
    try:
        return cli.main([*job["argv"], "--run-dir", job["run_dir"]])
    finally:
        training_queue.dispatch()


def _started_on_ray(job: dict) -> None:
    """A ``running`` status naming this host and process (the server, on another host,
    reads it as alive; the training keeps it as it starts), then ``launch.json``, so
    the run reads and stops like one started on the server."""
    import os

    from vidcore import queue_on_ray, runs
    from vidcore.views import launch

    queue_on_ray.bind_to_actor()
    queued = runs.read_json(f"{job['run_dir']}/{launch.QUEUED}", {}) or {}
    runs.write_status(job["run_dir"], "running")
    runs.write_json(f"{job['run_dir']}/{launch.LAUNCH}", {
        "argv": job["argv"], "pid": os.getpid(), "config": queued.get("config", {}),
        "job": job["id"], "ray": job["ray"]})
