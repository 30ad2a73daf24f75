"""Start ``vidcore train`` as a detached process, refusing a duplicate of a running run.

The app must never train inside its own script run: a click, a reload or a second
tab would stop or repeat it. So training runs as ``python -m vidcore train ...`` in
its own session (it outlives the page and even the server), writing its run
directory; pages only read that directory. The command line is parsed here exactly
as the child will parse it, so the duplicate check compares the very config the
child is going to train.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from vidcore import runs, settings
from vidcore.data.splits import check_split_of
from vidcore.errors import InputError, RunError
from vidcore.locking import exclusive

log = logging.getLogger(__name__)

LAUNCH = "launch.json"  # written before the child starts; config.json follows from the child
LOG = "train.log"
QUEUED = "queued.json"  # a run folder of a job still in the queue (vidcore.training_queue)
QUEUED_NICE = 10  # queued trainings yield the CPU to the server's predictions
# Paths and bookkeeping that do not change what is trained.
IGNORED_KEYS = ("store_dir", "log_every")


def train_argv(dataset: str, split: int = 1, preset: str = "default", sampler=None,
               **options) -> list[str]:
    """The ``vidcore train`` arguments for a dataset, a preset and what differs from it.

    Options equal to the preset's values are left out, so the command line (shown on
    the Train page and saved in ``launch.json``) says only what was changed.

    Args:
        dataset: dataset folder or CSV manifest.
        split: split number.
        preset: preset name.
        sampler: a ``Sampler``; passed as ``--sampler/--frames/--rate`` when it differs.
        **options: ``head``, ``backbone``, ``weights`` (``"none"`` for random), ``epochs``,
            ``lr``, ``batch_size``, ``patience`` (CLI spelling); None skips one.
    """
    from vidcore.presets import get_preset

    values = get_preset(preset).values
    same = {"lr": "learning_rate"}
    argv = ["train", str(dataset), "--split", str(split), "--preset", preset]
    for key, value in options.items():
        if value is not None and values.get(same.get(key, key)) != value:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    if sampler is not None and sampler.config() != values["sampler"].config():
        argv += ["--sampler", sampler.name]
        for key, value in sampler.config().items():
            if key in ("frames", "rate", "max_frames") and value is not None:
                argv += [f"--{key.replace('_', '-')}", str(value)]
    return argv


def planned_config(argv: list[str]):
    """The ``TrainConfig`` the child will train for ``argv`` (parsed as the CLI parses it).

    Raises:
        InputError: options the CLI would reject, or a bad value.
        WeightsError: the backbone's weights are not available here.
    """
    from vidcore.cli import build_parser
    from vidcore.commands.train import config_from_args
    from vidcore.models.backbones import weights_fingerprint

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as err:  # argparse prints and exits; say it as an error instead
        raise InputError(f"invalid training options: {' '.join(argv)}") from err
    config = config_from_args(args)
    weights_fingerprint(config.backbone, config.weights)  # a missing ImageNet file fails now
    return config


def _comparable(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in IGNORED_KEYS}


def find_running(config, root: str | os.PathLike | None = None) -> Path | None:
    """A running (or just launched) run of the same config under ``root``, or None."""
    want = _comparable(json.loads(json.dumps(config.to_dict(), default=str)))
    root = Path(root) if root else runs.default_runs_dir()
    for folder in sorted(root.glob("*/"), reverse=True):
        if (folder / runs.CONFIG).is_file():
            if runs.read_status(folder).get("state") != "running":
                continue
            have = runs.read_json(folder / runs.CONFIG, {})
        else:  # launched, the child has not written its config yet
            launch = runs.read_json(folder / LAUNCH, {}) or {}
            if not runs.pid_alive(launch.get("pid")):
                continue
            have = launch.get("config", {})
        if _comparable(have) == want:
            return folder
    return None


def busy_run(root: str | os.PathLike | None = None) -> Path | None:
    """The newest launched run under ``root`` that is still starting or running, or None.

    What the Train page watches after a reload, when its session forgot the run it
    started: a run whose child has not written ``config.json`` yet counts too.
    """
    root = Path(root) if root else runs.default_runs_dir()
    for folder in sorted(root.glob("*/"), reverse=True):
        if (folder / LAUNCH).is_file() and run_state(folder)["state"] in ("starting", "running"):
            return folder
    return None


def _launch_lock(root: Path):
    """Serialise check-then-start across threads and processes (two tabs clicking at once)."""
    return exclusive(root / ".launch.lock")


def start_training(argv: list[str], root: str | os.PathLike | None = None) -> Path:
    """Start ``python -m vidcore <argv> --run-dir <new run>`` detached; return the run dir.

    The child runs in a new session (a reload, a closed tab or a stopped server does
    not kill it); its output goes to ``train.log`` in the run directory. A thread
    reaps it when it ends, so a crashed child never lingers as a zombie that looks alive.

    Raises:
        RunError: a run of the same config is already running (names it).
        InputError, WeightsError: invalid options (see ``planned_config``).
        DatasetError: the dataset cannot be split honestly (see ``check_split_of``).
    """
    config = planned_config(argv)
    check_split_of(config)
    root = Path(root) if root else runs.default_runs_dir()
    with _launch_lock(root):
        running = find_running(config, root)
        if running is not None:
            raise RunError(f"an identical training run is already running ({running.name}); "
                           "watch it below or stop it before starting it again")
        run_dir = runs.new_run_dir(runs.run_name(config.to_dict()), root)
        run_dir.mkdir(parents=True)
        proc = _spawn(argv, run_dir)
        runs.write_json(run_dir / LAUNCH, {"argv": argv, "pid": proc.pid,
                                           "config": config.to_dict()})
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    log.info("started training run %s (pid %d)", run_dir, proc.pid)
    return run_dir


def _spawn(argv: list[str], run_dir: Path) -> subprocess.Popen:
    return spawn_cli([*argv, "--run-dir", str(run_dir)], run_dir / LOG)


def start_queued(job: dict) -> int:
    """Start a queued job (``vidcore.training_queue``) as ``vidcore [--user OWNER] queue
    run ID``, detached and at a lower CPU priority; return its process id.

    The child trains into the job's run folder, then starts the next waiting job.
    """
    run_dir = Path(job["run_dir"])
    user = ["--user", job["owner"]] if job["owner"] else []
    proc = spawn_cli([*user, "queue", "run", job["id"]], run_dir / LOG, nice=QUEUED_NICE)
    config = (runs.read_json(run_dir / QUEUED, {}) or {}).get("config", {})
    runs.write_json(run_dir / LAUNCH, {"argv": job["argv"], "pid": proc.pid, "config": config,
                                       "job": job["id"]})
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    log.info("started queued training %s in %s (pid %d)", job["id"], run_dir, proc.pid)
    return proc.pid


def spawn_cli(argv: list[str], log_path: Path, nice: int = 0) -> subprocess.Popen:
    """Start ``python -m vidcore ARGV`` in its own session, output appended to ``log_path``.

    Its own session: it outlives the page and the server, and a Ctrl-C in the server's
    terminal does not reach it. ``nice`` lowers its CPU priority (its threads inherit it).
    """
    cmd = [sys.executable, "-m", "vidcore", *argv]
    niced = (lambda: os.nice(nice)) if nice else None
    with open(log_path, "wb") as log_file:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=settings.project_dir(), preexec_fn=niced,
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


# One demo generator per folder for the whole server: every session waiting for the
# demo watches the same child instead of starting its own.
_DEMO_JOBS: dict[str, subprocess.Popen] = {}
_DEMO_JOBS_LOCK = threading.Lock()
DEMO_LOG = ".vidcore-demo.log"


def demo_generation(out_dir: str | os.PathLike, size: str) -> subprocess.Popen:
    """The child process generating the demo dataset into ``out_dir`` (``vidcore demo-data``).

    Generation never runs inside the app's server: its process pool re-imports the main
    module, which in a server is Streamlit's script, not vidcore. A running child is
    shared; one that has ended is replaced by a new one (a retry after a failure; a
    finished dataset is never regenerated: the child checks first). Its output goes to
    ``<out_dir>/.vidcore-demo.log`` (see ``demo_log_tail``).
    """
    out = Path(out_dir)
    key = str(out.resolve())
    with _DEMO_JOBS_LOCK:
        proc = _DEMO_JOBS.get(key)
        if proc is None or proc.poll() is not None:
            out.mkdir(parents=True, exist_ok=True)
            proc = spawn_cli(["demo-data", "--size", size, "--out", str(out), "--no-progress"],
                             out / DEMO_LOG)
            threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
            _DEMO_JOBS[key] = proc
            log.info("generating the %s demo dataset in %s (pid %d)", size, out, proc.pid)
        return proc


def demo_log_tail(out_dir: str | os.PathLike) -> str:
    """The last line the demo generator child wrote (its error when it failed)."""
    return _last_lines(Path(out_dir) / DEMO_LOG, 1)


def run_state(run_dir: str | os.PathLike) -> dict:
    """A run's status, counting a launched run whose child has not started yet as running.

    Returns:
        ``runs.read_status`` output; ``{"state": "waiting"}`` (or ``cancelled``) for a job
        still in the queue, ``{"state": "starting"}`` while the child loads, and
        a ``failed`` state with the log's last line when it died before writing a status.
    """
    run_dir = Path(run_dir)
    if (run_dir / runs.STATUS).is_file():
        return runs.read_status(run_dir)
    if (run_dir / QUEUED).is_file() and not (run_dir / LAUNCH).is_file():
        return {"state": (runs.read_json(run_dir / QUEUED, {}) or {}).get("state", "waiting")}
    launch = runs.read_json(run_dir / LAUNCH, {}) or {}
    if runs.pid_alive(launch.get("pid")):
        return {"state": "starting"}
    return {"state": "failed", "error": log_tail(run_dir, 1) or "the training process ended"}


def request_stop(run_dir: str | os.PathLike) -> None:
    """Ask a launched run to stop, even before its process has written ``config.json``.

    The run checks for the ``STOP`` file from its first step on (feature extraction
    included), so a request made while it is still starting is honoured too.

    Raises:
        RunError: ``run_dir`` is neither a run nor a launched run.
    """
    run_dir = Path(run_dir)
    if (run_dir / runs.CONFIG).is_file():
        runs.request_stop(run_dir)
    elif (run_dir / LAUNCH).is_file():
        runs.write_text(run_dir / runs.STOP, "stop requested before the run started\n")
    else:
        raise RunError(f"{run_dir} is not a training run; nothing to stop")


def log_tail(run_dir: str | os.PathLike, lines: int = 20) -> str:
    """The last lines of a launched run's ``train.log`` (empty when there is none)."""
    return _last_lines(Path(run_dir) / LOG, lines)


def _last_lines(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def describe_config(config: dict) -> str:
    """One line: backbone, sampler, head, epochs (for run lists and the Train page)."""
    from vidcore.data.sampling import describe, sampler_from_config

    try:
        sampler = describe(sampler_from_config(config["sampler"]))
    except (KeyError, TypeError, InputError):
        sampler = "?"
    return (f"{config.get('backbone')} ({config.get('weights') or 'random'} weights) · "
            f"{sampler} · {config.get('head')} · {config.get('epochs')} epochs")
