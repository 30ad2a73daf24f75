"""Map a dataset in a background process: the page starts it, then only reads its folder.

Extracting the features of a large dataset takes minutes, so the dataset map is
never computed inside a page's script run (a reload or a second tab would stop or
repeat it). ``start_map_job`` writes the dataset's index into a job folder and starts
``python -m vidcore.views.map_jobs FOLDER`` in its own session; the child writes
``progress.json`` while it extracts and ``result.json`` (what ``vidcore inspect
--json`` prints, every pair and issue) when it is done. ``job_state`` reads the
folder back, so a reload, another tab or a restarted server sees the same job.

A job folder belongs to one dataset content (every clip file's identity, class,
group and split) and one feature set: an added, moved or relabelled clip makes a new
folder, so a finished map is never shown for a dataset that has changed since.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from vidcore import runs, settings
from vidcore.data.index import VideoIndex, VideoRecord
from vidcore.errors import InputError
from vidcore.features import FeatureSpec, default_store_dir
from vidcore.locking import exclusive

log = logging.getLogger(__name__)

JOB, INDEX, PROGRESS, RESULT, LOG = "job.json", "index.json", "progress.json", "result.json", \
    "map.log"
PROGRESS_EVERY_S = 0.5  # progress.json rewrites at most this often


def job_folder(index: VideoIndex, spec: FeatureSpec,
               store_dir: str | os.PathLike | None = None) -> Path:
    """The job folder of a dataset's content under a feature set (nothing is created).

    The key is the feature set as asked for (``_feature_set_key``) and every clip's path,
    size, modification time, class, group and split: one ``stat`` a clip, so a page can
    ask on every run (13,320 clips: tens of ms).

    Raises:
        InputError: a clip file is gone or cannot be read (it is named).
    """
    digest = hashlib.sha1(f"{index.root}|{_feature_set_key(spec)}".encode())
    for r in index.records:
        try:
            stat = os.stat(index.path_of(r))
        except OSError as err:
            raise InputError(f"cannot read {index.path_of(r)} ({err.strerror}); reload the "
                             "page to read the dataset again") from err
        digest.update(f"\n{r.path}|{stat.st_size}|{stat.st_mtime_ns}|{r.class_name}|"
                      f"{r.group}|{r.split}".encode())
    root = Path(store_dir) if store_dir else default_store_dir()
    return root / "maps" / "jobs" / digest.hexdigest()[:16]


def _feature_set_key(spec: FeatureSpec) -> str:
    """The feature set as asked for: backbone, weights, sampler and flip (its float32
    folder name) and the precision requested, not the one it resolves to. An ``"auto"``
    spec's precision is settled by the job's own first extraction (on a bfloat16 CPU):
    a key that followed it would move the folder mid-job, and the page lost its job."""
    from vidcore.models.precision import requested

    return f"{spec.folder_name('float32')}|{requested(spec.precision)}"


def job_state(folder: str | os.PathLike) -> dict:
    """Where a job stands: ``{"state": "none" | "running" | "done" | "failed", ...}``.

    ``running`` carries ``stage`` (``extracting`` with ``done``/``total`` clips, or
    ``mapping``); ``done`` carries ``result``; ``failed`` carries ``error``.
    """
    folder = Path(folder)
    result = runs.read_json(folder / RESULT)
    if isinstance(result, dict):  # done, unless its map's CSV is gone since (map again)
        done = Path((result.get("map") or {}).get("file") or "").is_file()
        return {"state": "done", "result": result} if done else {"state": "none"}
    job = runs.read_json(folder / JOB)
    if not isinstance(job, dict):
        return {"state": "none"}
    if runs.pid_alive(job.get("pid")):
        progress = runs.read_json(folder / PROGRESS, {}) or {}
        return {"state": "running", "stage": "starting", **progress}
    return {"state": "failed", "error": _last_line(folder / LOG) or "the mapping process ended"}


def start_map_job(index: VideoIndex, spec: FeatureSpec,
                  store_dir: str | os.PathLike | None = None) -> Path:
    """Start mapping a dataset in the background unless it is mapped or being mapped.

    Returns:
        The job folder (see ``job_state``).
    """
    folder = job_folder(index, spec, store_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        if job_state(folder)["state"] in ("running", "done"):
            return folder
        for name in (PROGRESS, RESULT):
            (folder / name).unlink(missing_ok=True)
        runs.write_json(folder / INDEX, _index_data(index))
        runs.write_json(folder / JOB, {"spec": spec.to_dict(), "split": index.split,
                                       "store": str(store_dir) if store_dir else None})
        proc = _spawn(folder)
        runs.write_json(folder / JOB, {**runs.read_json(folder / JOB), "pid": proc.pid})
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    log.info("mapping %s in the background (pid %d, %s)", index.root, proc.pid, folder)
    return folder


def _spawn(folder: Path) -> subprocess.Popen:
    with open(folder / LOG, "wb") as log_file:  # its own session: outlives page and server
        return subprocess.Popen([sys.executable, "-m", "vidcore.views.map_jobs", str(folder)],
                                stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=settings.project_dir(),
                                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})


def _locked(folder: Path):
    """Serialise check-then-start (two tabs clicking at once)."""
    return exclusive(folder / ".lock")


def _index_data(index: VideoIndex) -> dict:
    return {"root": str(index.root), "format": index.format, "classes": list(index.classes),
            "split": index.split, "splits_source": index.splits_source,
            "records": [[r.path, r.label, r.class_name, r.group, r.split]
                        for r in index.records]}


def _index_from(data: dict) -> VideoIndex:
    return VideoIndex(Path(data["root"]), data["format"], tuple(data["classes"]),
                      tuple(VideoRecord(*r) for r in data["records"]), int(data["split"]),
                      splits_source=data["splits_source"])


def run_job(folder: str | os.PathLike) -> dict:
    """The child's work: extract missing features, inspect, write ``result.json``.

    Returns:
        The result (``DatasetInspection.to_dict()``: every pair and issue).
    """
    from vidcore.dataset_map import clip_features, inspect_clips

    folder = Path(folder)
    job, index = runs.read_json(folder / JOB), _index_from(runs.read_json(folder / INDEX))
    spec = FeatureSpec.from_dict(job["spec"])
    last = [0.0]

    def progress(event: dict) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or event.get("done") == event.get("total"):
            last[0] = now
            runs.write_json(folder / PROGRESS, {"stage": "extracting",
                                                "done": event.get("done", 0),
                                                "total": event.get("total", 0)})

    clips = clip_features(index, spec, job.get("store"), progress=progress)
    runs.write_json(folder / PROGRESS, {"stage": "mapping", "clips": len(clips)})
    result = inspect_clips(index.root, clips).to_dict()
    runs.write_json(folder / RESULT, result)
    return result


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def main(argv: list[str]) -> int:
    """``python -m vidcore.views.map_jobs FOLDER``: run one job; errors as one line."""
    from vidcore.errors import VidcoreError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        run_job(argv[0])
    except (VidcoreError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

