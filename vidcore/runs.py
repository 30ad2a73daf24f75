"""Run directories: where one training run keeps its config, metrics, model and status.

Layout of a run directory::

    config.json      the fully resolved TrainConfig
    classes.json     class names in label order
    metrics.jsonl    one JSON object per line, appended live (kind: extract | batch | epoch)
    status.json      running | finished | stopped | failed, pid, times, best validation metrics
    model.keras      the best checkpoint (neural heads), or model.npz (linear head)
    scaling.npz      feature scaling fitted on the training frames (neural heads)
    report.json      written by evaluation, with predictions.csv
    STOP             present when someone asked the run to stop

Every JSON file is written to a temporary file in the same folder and renamed into
place, so a reader (the app polling a run, a second shell) never sees half a file.
``metrics.jsonl`` is the exception: it is only appended to, one flushed line at a
time, and readers skip a torn last line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from datetime import datetime
from pathlib import Path

from vidcore import settings
from vidcore.atomic import write_with
from vidcore.disk_errors import refused_write
from vidcore.errors import RunError

log = logging.getLogger(__name__)

CONFIG = "config.json"
CLASSES = "classes.json"
METRICS = "metrics.jsonl"
STATUS = "status.json"
REPORT = "report.json"
PREDICTIONS = "predictions.csv"
KERAS_MODEL = "model.keras"
LINEAR_MODEL = "model.npz"
SCALING = "scaling.npz"
STOP = "STOP"
ACTIVE = "ACTIVE"
STATES = ("running", "finished", "stopped", "failed")
# The shipped demo model (``settings.shipped_demo_model``); read here at call time, so a
# test can point it elsewhere.
DEMO_MODEL_DIR = settings.shipped_demo_model()
default_runs_dir = settings.runs_dir  # ``$VIDCORE_RUNS`` or ``<project>/runs``


def dataset_of(config: dict) -> str:
    """The dataset path of a run config; a relative one is tried from here, then the
    project folder (``settings.project_dir``).

    The shipped demo model records ``data/demo/UCF-101`` relative to the repository,
    so it works whatever folder the app or the CLI was started from.
    """
    path = Path(config.get("dataset", "")).expanduser()
    if path.is_absolute() or path.exists():
        return str(path)
    return str(settings.project_dir() / path)


def new_run_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """A fresh, not yet existing ``<root>/<YYYYmmdd-HHMMSS>-<name>`` path.

    Args:
        name: short label, usually the preset or head name.
        root: runs folder (default ``default_runs_dir()``).
    """
    root = Path(root) if root else default_runs_dir()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name) or "run"
    path, n = root / f"{stamp}-{slug}", 2
    while path.exists():  # two runs started within the same second
        path, n = root / f"{stamp}-{slug}-{n}", n + 1
    return path


# ---------------------------------------------------------------- atomic files


def write_json(path: str | os.PathLike, data) -> None:
    """Write JSON atomically: temp file in the same folder, then ``os.replace``."""
    text = json.dumps(data, indent=2, default=_plain)
    write_text(path, text + "\n")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    write_with(path, lambda f: f.write(text.encode("utf-8")))


def _plain(value):
    """JSON fallback for numpy scalars and paths."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def read_json(path: str | os.PathLike, default=None):
    """Parsed JSON, or ``default`` when the file is missing or damaged."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def append_jsonl(path: str | os.PathLike, record: dict) -> None:
    """Append one JSON line and flush it, so a polling reader sees it at once."""
    line = json.dumps(record, default=_plain) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()


def read_metrics(run_dir: str | os.PathLike, kind: str | None = None) -> list[dict]:
    """The metric records of a run, oldest first, optionally of one ``kind``.

    A torn last line (a writer caught mid-append) is skipped.
    """
    try:
        lines = (Path(run_dir) / METRICS).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if kind is None or record.get("kind") == kind:
            records.append(record)
    return records


# ---------------------------------------------------------------- status


def write_status(run_dir: str | os.PathLike, state: str, **fields) -> dict:
    """Merge ``fields`` into the run's status and set its state.

    Args:
        run_dir: the run directory.
        state: one of ``running``, ``finished``, ``stopped``, ``failed``.
        **fields: extra values (``error``, ``best_val_loss`` ...) kept across calls.

    Returns:
        The status written.
    """
    if state not in STATES:
        raise ValueError(f"unknown run state {state!r}")
    status = read_json(Path(run_dir) / STATUS, {}) or {}
    status.update(fields, state=state, updated=_now())
    if state == "running":
        status.setdefault("started", _now())
        status.update(pid=os.getpid(), host=socket.gethostname())
    else:
        status.setdefault("ended", _now())
    write_json(Path(run_dir) / STATUS, status)
    return status


def read_status(run_dir: str | os.PathLike) -> dict:
    """The run's status; a ``running`` run whose process is gone reads as failed.

    Returns:
        The status dict (``{"state": "unknown"}`` when there is no status file).
    """
    status = read_json(Path(run_dir) / STATUS)
    if not isinstance(status, dict):
        return {"state": "unknown"}
    if status.get("state") == "running" and not _process_alive(status):
        status.update(state="failed", error="interrupted: the training process is gone")
    return status


def _process_alive(status: dict) -> bool:
    """Whether the pid of a status is still running (unknowable from another host)."""
    if status.get("host") not in (None, socket.gethostname()):
        return True
    return pid_alive(status.get("pid"))


def pid_alive(pid) -> bool:
    """Whether a process id (as read from a JSON file) names a live process here."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


# ---------------------------------------------------------------- starting and ending


def start_run(config: dict, run_dir: str | os.PathLike | None = None) -> Path:
    """Create the run directory and write ``config.json`` and a ``running`` status.

    Args:
        config: the resolved training config as a dict (``TrainConfig.to_dict()``); its
            dataset and preset (else head) name a new folder (``run_name``).
        run_dir: the folder (default ``new_run_dir`` under the runs folder).

    Raises:
        RunError: ``run_dir`` already holds a run, or cannot be created or written.
    """
    path = Path(run_dir).expanduser() if run_dir else new_run_dir(run_name(config))
    if (path / CONFIG).exists():
        raise RunError(f"{path} already holds a run; choose another --run-dir or remove it")
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunError(f"cannot create run directory {path}: {err.strerror}") from err
    try:
        write_json(path / CONFIG, config)
        write_status(path, "running", head=config.get("head"), preset=config.get("preset"))
    except OSError as err:
        # A run without its status would list as "unknown": leave no run at all.
        _unstart(path, created)
        raise (refused_write(err, path, "no run was created")
               or RunError(f"cannot write to the run directory {path}: {err}")) from err
    log.info("run directory: %s", path)
    return path


def _unstart(path: Path, created: bool) -> None:
    """Remove what ``start_run`` wrote (and the folder, if it made it and it is empty)."""
    for name in (STATUS, CONFIG):
        with contextlib.suppress(OSError):
            (path / name).unlink(missing_ok=True)
    if created:
        with contextlib.suppress(OSError):
            path.rmdir()


def mark_ended(run_dir: str | os.PathLike, state: str, error: str) -> None:
    """Record how a run ended, if the disk still takes a write.

    When it does not (full or read-only), ``status.json`` keeps ``running`` with this
    process's id, which ``read_status`` reports as failed once the process ends.
    """
    try:
        write_status(run_dir, state, error=error)
    except OSError as err:
        log.debug("could not record the end of run %s: %s", run_dir, err)


# ---------------------------------------------------------------- stop requests


def request_stop(run_dir: str | os.PathLike) -> Path:
    """Ask a training run to stop after its current batch (it keeps its best model).

    Raises:
        RunError: ``run_dir`` is not a run directory.
    """
    run_dir = check_run_dir(run_dir, need_model=False)
    path = run_dir / STOP
    write_text(path, f"stop requested at {_now()}\n")
    return path


def stop_requested(run_dir: str | os.PathLike) -> bool:
    """True when a ``STOP`` file is in the run directory."""
    return (Path(run_dir) / STOP).exists()


# ---------------------------------------------------------------- finding runs


def model_file(run_dir: str | os.PathLike) -> Path | None:
    """The run's model file (``model.keras`` or ``model.npz``), or None."""
    for name in (KERAS_MODEL, LINEAR_MODEL):
        if (Path(run_dir) / name).is_file():
            return Path(run_dir) / name
    return None


def check_run_dir(run_dir: str | os.PathLike, need_model: bool = True) -> Path:
    """Validate a run directory.

    Args:
        run_dir: the folder.
        need_model: also require a saved model.

    Returns:
        The folder as a ``Path``.

    Raises:
        RunError: the folder is missing, not a run, or (``need_model``) has no model yet.
    """
    path = Path(run_dir).expanduser()
    if not path.is_dir():
        raise RunError(f"run directory {path} does not exist; "
                       "give a folder made by 'vidcore train' (see its output)")
    if not (path / CONFIG).is_file():
        raise RunError(f"{path} is not a run directory (no {CONFIG}); "
                       "give a folder made by 'vidcore train'")
    if need_model and model_file(path) is None:
        state = read_status(path).get("state", "unknown")
        raise RunError(f"run {path} has no saved model yet (state: {state}); "
                       "wait for it to finish an epoch or train again")
    return path


def list_runs(root: str | os.PathLike | None = None) -> list[dict]:
    """Runs under a runs folder, newest first.

    Returns:
        One dict per run: ``path``, ``name``, ``state``, ``head``, ``preset``,
        ``backbone``, ``best_val_accuracy``, ``started``, ``has_model``, ``has_report``,
        ``top1`` (primary aggregator, when evaluated).
    """
    root = Path(root) if root else default_runs_dir()
    runs = []
    for path in sorted(root.glob("*/" + CONFIG), reverse=True):
        runs.append(run_summary(path.parent))
    return runs


def run_summary(run_dir: str | os.PathLike) -> dict:
    """The one-line facts about a run that ``list_runs`` returns."""
    run_dir = Path(run_dir)
    config = read_json(run_dir / CONFIG, {}) or {}
    status = read_status(run_dir)
    report = read_json(run_dir / REPORT)
    top1 = None
    if isinstance(report, dict):
        primary = report.get("primary")
        top1 = report.get("aggregators", {}).get(primary, {}).get("top1")
    return {"path": str(run_dir), "name": run_dir.name, "state": status.get("state"),
            "head": config.get("head"), "preset": config.get("preset"),
            "backbone": config.get("backbone"),
            "best_val_accuracy": status.get("best_val_accuracy"),
            "started": status.get("started"), "has_model": model_file(run_dir) is not None,
            "has_report": report is not None, "top1": top1}


# ---------------------------------------------------------------- the active model


def set_active_model(run_dir: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """Make a run the model ``predict`` uses when none is named.

    Writes the run's absolute path into ``<runs root>/ACTIVE``.

    Raises:
        RunError: the run has no model.
    """
    run_dir = check_run_dir(run_dir).resolve()
    root = Path(root) if root else default_runs_dir()
    write_text(root / ACTIVE, f"{run_dir}\n")
    log.info("active model is now %s", run_dir)
    return run_dir


def active_model(root: str | os.PathLike | None = None) -> Path | None:
    """The run named by ``ACTIVE`` if it still holds a model, else None."""
    root = Path(root) if root else default_runs_dir()
    try:
        text = (root / ACTIVE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if text and model_file(text) is not None and (Path(text) / CONFIG).is_file():
        return Path(text)
    log.warning("the active model %s is gone; ignoring %s", text, root / ACTIVE)
    return None


def same_run(a: str | os.PathLike | None, b: str | os.PathLike | None) -> bool:
    """Whether two paths name the same run folder, links and relative parts resolved.

    ``ACTIVE`` stores a resolved path while ``list_runs`` lists paths under the runs
    folder as given (``$VIDCORE_RUNS`` may go through a symlink): compare with this.
    """
    if a is None or b is None:
        return False
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False


def resolve_model_dir(model: str | os.PathLike | None = None) -> Path:
    """The run to predict with: ``model`` if given, else the active one, else the demo model.

    Raises:
        RunError: nothing usable (says how to get a model).
    """
    if model:
        return check_run_dir(model)
    active = active_model()
    if active is not None:
        return active
    if model_file(DEMO_MODEL_DIR) is not None and (DEMO_MODEL_DIR / CONFIG).is_file():
        return DEMO_MODEL_DIR
    raise RunError("no model to predict with: pass --model RUN_DIR, or train one with "
                   "'vidcore train DATASET' and mark it active")


def elapsed_since(start: float) -> float:
    """Seconds since a ``time.perf_counter()`` value, rounded for JSON."""
    return round(time.perf_counter() - start, 3)


# ---------------------------------------------------------------- how people tell runs apart


def run_name(config: dict) -> str:
    """A new run folder's label (after its time stamp): ``demo-default``, ``my-moves-fast``:
    the dataset's short name, then the preset (else the head)."""
    recipe = config.get("preset") or config.get("head") or "run"
    dataset = dataset_name(config) if config.get("dataset") else ""
    short = "demo" if dataset == DEMO_DATASET else dataset.lower().replace(" ", "-")
    return f"{short}-{recipe}" if short else recipe


DEMO_DATASET = "Demo dataset"


def dataset_name(config: dict) -> str:
    """A run's dataset as a person names it: the demo, a workspace dataset by its name,
    any other folder by its last part."""
    path = Path(dataset_of(config)).resolve()
    if path.is_relative_to(settings.demo_dir().resolve()):
        return DEMO_DATASET
    home = settings.workspace_home().resolve()
    if path.is_relative_to(home) and path != home:
        return path.relative_to(home).parts[0]
    return path.name or str(path)


def describe_run(run_dir: str | os.PathLike) -> str:
    """How the app names a run: dataset, classes, recipe and start time, e.g.
    ``"Demo dataset · 10 classes · default · temporal_conv · 3 Dec 11:26"`` (up to four
    class names are listed when there are four or fewer)."""
    run_dir = Path(run_dir)
    from vidcore.words import count

    config = read_json(run_dir / CONFIG, {}) or {}
    classes = read_json(run_dir / CLASSES, []) or []
    names = [str(c) for c in classes]
    kinds = count(len(names), "class", "classes")
    if 0 < len(names) <= 4:
        kinds += f" ({', '.join(names)})"
    dataset = dataset_name(config) if config.get("dataset") else ""
    recipe = [x for x in (config.get("preset"), config.get("head")) if x]
    started = _started(run_dir.name)
    return " · ".join(x for x in (dataset, kinds, *recipe, started) if x)


def _started(name: str) -> str:
    """``"3 Dec 11:26"`` from a run folder's time stamp ("" when it has none)."""
    try:
        when = datetime.strptime(name[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return ""
    return f"{when.day} {when:%b %H:%M}"
