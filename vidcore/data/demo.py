"""The embedded demo dataset: synthetic stick-figure actions in UCF101's exact layout.

No real dataset can be downloaded everywhere vidcore runs, so everything (app, CLI,
tests) can fall back on this generated one. It mirrors UCF101 on purpose:

* ``<out>/UCF-101/<Class>/v_<Class>_gXX_cYY.avi``: 320x240, 25 fps, XviD (MPEG-4 Part 2)
  AVI, clips of 2-6 s (demo size);
* ``<out>/ucfTrainTestlist/``: ``classInd.txt``, ``trainlist0k.txt``, ``testlist0k.txt``
  with CRLF line endings, class order case-insensitive alphabetical;
* 25 groups per class: clips of a group share background, actor (colours, proportions)
  and camera placement, so a group leaking across train/test inflates accuracy just as
  in the real data; split k tests groups 1-7, 8-14, 15-21.

The pictures come from ``vidcore.data.render`` (classes, sizes, ``render_clip``); this
module writes them as a dataset: videos in parallel worker processes, the split files,
and a marker that says which generator, size and seed made the folder, so an
incomplete or different copy is redone and anything else in the folder is left alone.
Frames become BGR only inside the video writer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import cv2
import numpy as np

from vidcore import settings
from vidcore.atomic import replace_via_temp, write_with
from vidcore.data.render import (  # noqa: F401  (render_clip, REVERSE_PAIRS...: re-exported)
    BACKWARD_OF,
    DEMO_CLASSES,
    DEMO_VERSION,
    FORWARD_OF,
    FPS,
    GROUPS,
    HEIGHT,
    REVERSE_PAIRS,
    SIZES,
    WIDTH,
    DemoSize,
    check_seed,
    clip_count,
    iter_frames,
    render_clip,
    size_spec,
    source_class,
)
from vidcore.errors import InputError, VidcoreError
from vidcore.locking import exclusive

log = logging.getLogger(__name__)

VIDEO_DIR = "UCF-101"
SPLIT_DIR = "ucfTrainTestlist"
MARKER = ".vidcore-demo.json"
TEST_GROUPS = {1: range(1, 8), 2: range(8, 15), 3: range(15, 22)}  # UCF101's official splits
# A clip, or the hidden temp file vidcore.atomic writes it through.
_VIDEO_NAME = re.compile(r"^\.?v_[A-Za-z]+_g\d\d_c\d\d\.avi(\.\w+\.tmp\.avi)?$")


# ---------------------------------------------------------------- writing


def _video_name(class_name: str, group: int, clip: int) -> str:
    return f"v_{class_name}_g{group:02d}_c{clip:02d}.avi"


def _plan(spec: DemoSize, seed: int) -> list[tuple[str, int, int]]:
    """Every (class, group, clip) of a size, in classInd order."""
    return [(c, g, k) for c in DEMO_CLASSES for g in range(1, spec.groups + 1)
            for k in range(1, clip_count(seed, source_class(c), g, spec) + 1)]


def _write_video(path: Path, frames) -> None:
    """Encode RGB frames as XviD AVI, atomically (the temp name ends in .avi too: OpenCV
    picks the container by it)."""
    def encode(tmp: Path) -> None:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"XVID"), FPS, (WIDTH, HEIGHT))
        if not writer.isOpened():
            raise VidcoreError(f"OpenCV cannot write XviD AVI files ({tmp}); "
                               "it needs FFmpeg support")
        bgr = np.empty((HEIGHT, WIDTH, 3), np.uint8)
        try:
            for frame in frames:
                writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR, dst=bgr))
        finally:
            writer.release()

    replace_via_temp(path, encode)


def _write_task(task: tuple[str, int, int, int, str, str]) -> int:
    """Worker: write one clip, and its time reverse for a reverse pair's first class.

    Rendering a pair once and writing it both ways saves a fifth of the work. Module
    level so that it pickles; returns the number of videos written.
    """
    class_name, group, clip, seed, size, root = task
    frames = iter_frames(class_name, group, clip, seed, SIZES[size])
    backward = BACKWARD_OF.get(class_name)
    if backward is None:
        _write_video(Path(root, class_name, _video_name(class_name, group, clip)), frames)
        return 1
    frames = [f.copy() for f in frames]  # the iterator reuses one buffer
    _write_video(Path(root, class_name, _video_name(class_name, group, clip)), frames)
    _write_video(Path(root, backward, _video_name(backward, group, clip)), frames[::-1])
    return 2


def _available_cpus() -> int:
    """CPUs this process may use (a container's limit, where os.cpu_count() shows the host)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already; OpenCV threads would oversubscribe


def _check_not_bootstrapping() -> None:
    """Fail fast where a spawned worker re-imports an unguarded main script.

    Otherwise that worker would call the generator again and wait forever on the
    folder lock its parent holds.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise VidcoreError("the demo generator was started while a worker process was "
                           "starting; put the calling script's code under "
                           "`if __name__ == '__main__':`")


def _run_tasks(tasks: list, done: int, total: int, workers: int,
               progress: Callable[[int, int], None] | None) -> None:
    if workers <= 1:
        _report(map(_write_task, tasks), done, total, progress)
        return
    # spawn, not fork: the caller may be a threaded server (Streamlit), where fork is unsafe;
    # an executor, unlike multiprocessing.Pool, fails instead of respawning dead workers
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker)
    try:
        futures = [pool.submit(_write_task, task) for task in tasks]
        _report((f.result() for f in as_completed(futures)), done, total, progress)
    except BaseException:
        pool.shutdown(cancel_futures=True)  # do not finish the queue on error or Ctrl-C
        raise
    pool.shutdown()


def _report(counts: Iterator[int], done: int, total: int,
            progress: Callable[[int, int], None] | None) -> None:
    for count in counts:
        done += count
        if progress is not None:
            progress(done, total)


def _write_text(path: Path, lines: list[str]) -> None:
    """Atomically write lines with CRLF endings, the last one included, like UCF101's lists."""
    text = "".join(f"{line}\r\n" for line in lines).encode("ascii")
    write_with(path, lambda f: f.write(text))


def _write_splits(out: Path, plan: list[tuple[str, int, int]]) -> None:
    split_dir = out / SPLIT_DIR
    split_dir.mkdir(parents=True, exist_ok=True)
    index = {c: i for i, c in enumerate(DEMO_CLASSES, 1)}
    listed = [(f"{c}/{_video_name(c, g, n)}", c, g) for c, g, n in plan]
    for k, tested in TEST_GROUPS.items():
        train = [f"{rel} {index[c]}" for rel, c, g in listed if g not in tested]
        _write_text(split_dir / f"trainlist0{k}.txt", train)
        _write_text(split_dir / f"testlist0{k}.txt", [rel for rel, _, g in listed if g in tested])
    _write_text(split_dir / "classInd.txt", [f"{i} {c}" for c, i in index.items()])


# ---------------------------------------------------------------- marker and safety


def _split_files() -> list[str]:
    lists = [f"{kind}0{k}.txt" for k in TEST_GROUPS for kind in ("trainlist", "testlist")]
    return ["classInd.txt", *lists]


def _marker(spec: DemoSize, seed: int, videos: int, complete: bool) -> dict:
    return {"generator": __name__, "version": DEMO_VERSION, "size": spec.name, "seed": seed,
            "classes": list(DEMO_CLASSES), "videos": videos, "complete": complete}


def _read_marker(out: Path) -> dict | None:
    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _write_marker(out: Path, marker: dict) -> None:
    text = (json.dumps(marker, indent=2) + "\n").encode("utf-8")
    write_with(out / MARKER, lambda f: f.write(text))


def _count_videos(root: Path) -> int:
    if not root.is_dir():
        return 0
    return sum(1 for d in root.iterdir() if d.is_dir()
               for f in os.scandir(d) if f.name.endswith(".avi") and not f.name.startswith("."))


def _is_complete(out: Path, spec: DemoSize, seed: int) -> bool:
    """Marker matches and nothing obvious is missing (cheap: no video is decoded)."""
    expected = _marker(spec, seed, len(_plan(spec, seed)), complete=True)
    if _read_marker(out) != expected:
        return False
    if not all((out / SPLIT_DIR / name).is_file() for name in _split_files()):
        return False
    return _count_videos(out / VIDEO_DIR) == expected["videos"]


def _only_demo_files(out: Path) -> bool:
    """True when the dataset folders hold nothing but what this module writes."""
    videos, splits = out / VIDEO_DIR, out / SPLIT_DIR
    if videos.is_dir():
        for d in videos.iterdir():
            if d.name not in DEMO_CLASSES or not d.is_dir():
                return False
            if not all(_VIDEO_NAME.match(f.name) for f in d.iterdir()):
                return False
    if splits.is_dir():
        ok = re.compile(r"^\.?(classInd|trainlist0\d|testlist0\d)\.txt(\.\w+\.tmp\.txt)?$")
        return all(ok.match(f.name) for f in splits.iterdir())
    return True


def _clear(out: Path) -> None:
    """Remove a previous or interrupted demo, refusing to touch anyone else's data."""
    marker = _read_marker(out) or {}
    if marker.get("generator") != __name__ and not _only_demo_files(out):
        raise InputError(f"{out} holds a dataset that is not a vidcore demo; "
                         "choose an empty folder for the demo dataset")
    for name in (VIDEO_DIR, SPLIT_DIR):
        shutil.rmtree(out / name, ignore_errors=True)


def _locked(out: Path):
    """Serialise generators of one folder across processes (two app sessions, say)."""
    return exclusive(out / ".vidcore-demo.lock")  # opened to append: its mtime stays


@contextlib.contextmanager
def _exclusive(out_dir, size: str, seed: int):
    """The checked size spec, seed and folder, with the folder locked for generating."""
    spec, seed, out = size_spec(size), check_seed(seed), Path(out_dir)
    _check_not_bootstrapping()
    with _locked(out):
        yield spec, seed, out


# ---------------------------------------------------------------- public entry points


def _outputs(task: tuple) -> list[Path]:
    """The files one task writes: its clip, and the time reverse for a pair's first class."""
    class_name, group, clip, _, _, root = task
    names = [class_name, *([BACKWARD_OF[class_name]] if class_name in BACKWARD_OF else [])]
    return [Path(root, c, _video_name(c, group, clip)) for c in names]


def _remove_temps(videos: Path) -> None:
    """Delete hidden temp files a killed writer left (finished clips are never temps)."""
    for folder in (d for d in videos.iterdir() if d.is_dir()):
        for stale in folder.glob(".*.tmp.avi"):
            stale.unlink(missing_ok=True)


def _prepare(out: Path, spec: DemoSize, seed: int, total: int) -> None:
    """Resume an unfinished demo of the same recipe (its clips are whole: writes are
    atomic and clips deterministic), else start from an empty folder."""
    if _read_marker(out) == _marker(spec, seed, total, complete=False):
        _remove_temps(out / VIDEO_DIR)
        log.info("resuming the unfinished demo dataset in %s", out)
        return
    _clear(out)
    _write_marker(out, _marker(spec, seed, total, complete=False))  # "ours, unfinished"


def _generate(out: Path, spec: DemoSize, seed: int, workers: int | None,
              progress: Callable[[int, int], None] | None) -> Path:
    start = time.perf_counter()
    plan = _plan(spec, seed)
    _prepare(out, spec, seed, len(plan))
    for c in DEMO_CLASSES:
        (out / VIDEO_DIR / c).mkdir(parents=True, exist_ok=True)
    root = str(out / VIDEO_DIR)
    tasks = [(c, g, k, seed, spec.name, root) for c, g, k in plan if c not in FORWARD_OF]
    todo = [t for t in tasks if not all(p.is_file() for p in _outputs(t))]
    done = sum(len(_outputs(t)) for t in tasks) - sum(len(_outputs(t)) for t in todo)
    workers = max(1, min(workers or _available_cpus(), len(todo)))
    _run_tasks(todo, done, len(plan), workers, progress)
    _write_splits(out, plan)  # last, so a listed file always exists
    _write_marker(out, _marker(spec, seed, len(plan), complete=True))
    log.info("demo dataset %r (%d videos) written to %s in %.1f s",
             spec.name, len(plan), out, time.perf_counter() - start)
    return out / VIDEO_DIR


def generate_demo_dataset(out_dir, size: str = "demo", seed: int = 0, workers: int | None = None,
                          progress: Callable[[int, int], None] | None = None) -> Path:
    """Generate the demo dataset, replacing a previous demo in ``out_dir`` (an unfinished one
    of the same size and seed is resumed: its clips are whole and deterministic).

    Args:
        out_dir: folder that receives ``UCF-101/``, ``ucfTrainTestlist/`` and the marker.
        size: a key of ``SIZES`` (``demo`` or ``tiny``).
        seed: non-negative seed; equal seeds give identical videos.
        workers: processes to use; None means one per available CPU, 1 means in-process.
        progress: optional ``callable(done, total)`` called after each video.

    Returns:
        The dataset root, ``<out_dir>/UCF-101``.

    Raises:
        InputError: unknown size, negative seed, or ``out_dir`` holding other data.
    """
    with _exclusive(out_dir, size, seed) as (spec, seed, out):
        return _generate(out, spec, seed, workers, progress)


def ensure_demo_dataset(out_dir, size: str = "demo", seed: int = 0,
                        progress: Callable[[int, int], None] | None = None) -> Path:
    """Return the demo dataset root, generating it only when absent, partial or different.

    Args:
        out_dir: folder holding (or to receive) the dataset.
        size: a key of ``SIZES``.
        seed: non-negative seed.
        progress: optional ``callable(done, total)``, called only if generating.

    Returns:
        The dataset root, ``<out_dir>/UCF-101``.

    Raises:
        InputError: unknown size, negative seed, or ``out_dir`` holding other data.
    """
    with _exclusive(out_dir, size, seed) as (spec, seed, out):
        if _is_complete(out, spec, seed):
            return out / VIDEO_DIR
        log.info("demo dataset in %s is missing, incomplete or different: generating", out)
        return _generate(out, spec, seed, None, progress)


def generation_state(out_dir, size: str = "demo", seed: int = 0) -> dict:
    """How far the demo dataset in ``out_dir`` is (cheap: reads the marker, counts files).

    Returns:
        ``{"complete": bool, "done": clips on disk, "total": clips of the size}``.

    Raises:
        InputError: unknown size or negative seed.
    """
    spec, seed, out = size_spec(size), check_seed(seed), Path(out_dir)
    total = len(_plan(spec, seed))
    complete = _is_complete(out, spec, seed)
    return {"complete": complete, "total": total,
            "done": total if complete else min(total, _count_videos(out / VIDEO_DIR))}


default_demo_dir = settings.demo_dir  # ``$VIDCORE_DEMO_DIR`` or ``<project>/data/demo``
