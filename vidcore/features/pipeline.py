"""The streaming extraction pipeline: decode on threads, embed in batches, store.

``extract`` fills the store, ``load_features`` reads it back (extracting what is
missing), ``video_features`` embeds one video without the store (predictions), and
``backbone_runner`` is the reusable backbone they run on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vidcore.data.info import VideoInfo
from vidcore.data.sampling import Sampler
from vidcore.data.video import Frames, read_frames, resize_frame
from vidcore.errors import VidcoreError
from vidcore.features.spec import FeatureSpec, VideoFeatures
from vidcore.features.store import FeatureStore, open_store

log = logging.getLogger(__name__)

Progress = Callable[[dict], None]


@dataclass
class ExtractSummary:
    """What one extraction run did."""

    videos: int = 0
    frames: int = 0
    computed: int = 0
    cached: int = 0
    failed: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    store: str = ""

    @property
    def frames_per_second(self) -> float:
        """Frames computed per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        """Plain dict for JSON (``frames_per_second`` included)."""
        return {**asdict(self), "frames_per_second": round(self.frames_per_second, 2)}


class _Backbone:
    """A backbone on the engine chosen for this machine (``vidcore.models.engines``).

    With ``lazy=True`` even the model (and TensorFlow) waits for the first call, so a
    runner made ahead costs nothing when every video turns out to be stored already.
    With ``fold=True`` (the default) batch norms are folded into their convolutions
    (``vidcore.models.folding``): same features to ~1e-5, about 1.6x faster on CPU;
    ``fold=False`` keeps the plain Keras model. It computes in the chosen precision
    (``FeatureSpec.engine_choice``); features come back as float32. A ``model`` handed
    in, or ``fold=False``, runs on Keras (in that precision) as given.
    """

    def __init__(self, spec: FeatureSpec, model=None, lazy: bool = False, fold: bool = True):
        from vidcore.models.backbones import get_spec

        self.spec, self.model, self.fold, self._run = spec, model, fold, None
        self.size = get_spec(spec.backbone).input_size
        self.choice = None  # resolved when built (a lazy runner may travel)
        self.precision: str | None = None
        self.engine: str | None = None
        if not lazy:
            self._build()

    def _build(self) -> None:
        from vidcore.models import engines

        self.choice = self.spec.engine_choice()
        engine = self.choice.engine if self.model is None and self.fold else "keras"
        self._run = engines.build(self.spec, engine, self.choice.precision, self.model,
                                  self.fold)
        self.engine, self.precision = engine, self.choice.precision
        self.model = getattr(self._run, "model", None)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self._run is None:
            self._build()
        if not self.spec.flip:
            return self._run(batch)
        # Mirror along the width axis (frames are (B, H, W, 3)) and average the features.
        mirrored = np.ascontiguousarray(np.asarray(batch)[:, :, ::-1])
        return (self._run(batch) + self._run(mirrored)) / 2


def _decode(path, sampler: Sampler, size: int) -> Frames:
    return read_frames(path, sampler, size=(size, size))


class _Batcher:
    """Packs frames of several videos into fixed-size batches; hands back whole videos."""

    def __init__(self, backbone: _Backbone, batch_size: int):
        self.backbone, self.batch_size = backbone, batch_size
        self.videos: dict[int, list] = {}  # id -> [path, frames, features, rows still due]
        self.rows: list[tuple[int, int]] = []  # (video id, frame index) of each buffered image
        self.buffer: list[np.ndarray] = []
        self.next_id = 0

    def add(self, path, frames: Frames) -> list:
        """Queue a video's frames; return videos whose features are complete."""
        vid, self.next_id = self.next_id, self.next_id + 1
        self.videos[vid] = [path, frames, None, len(frames)]
        done = []
        for i, image in enumerate(frames.images):
            self.buffer.append(image)
            self.rows.append((vid, i))
            if len(self.buffer) == self.batch_size:
                done += self.flush()
        return done

    def flush(self) -> list:
        """Run the buffered frames; return completed videos as (path, VideoFeatures)."""
        if not self.buffer:
            return []
        out = self.backbone(np.stack(self.buffer))
        done = []
        for (vid, i), row in zip(self.rows, out, strict=True):
            entry = self.videos[vid]
            if entry[2] is None:
                entry[2] = np.empty((len(entry[1]), *out.shape[1:]), np.float16)
            entry[2][i] = row
            entry[3] -= 1
            if entry[3] == 0:
                path, frames, feats, _ = self.videos.pop(vid)
                done.append((path, VideoFeatures(feats, frames.timestamps, frames.frame_ids)))
        self.buffer, self.rows = [], []
        return done


def reporter(progress: Progress | None, total: int, start: float):
    """``report(done, frames)``: calls ``progress`` with counts, rate and time left."""
    def report(done: int, frames: int):
        if progress is None:
            return
        elapsed = max(time.perf_counter() - start, 1e-9)
        rate = done / elapsed
        progress({"stage": "extract", "done": done, "total": total, "frames": frames,
                  "frames_per_second": frames / elapsed,
                  "eta_seconds": (total - done) / rate if rate > 0 else None})
    return report


def extract(
    paths: Iterable[str | os.PathLike],
    spec: FeatureSpec,
    store_dir: str | os.PathLike | None = None,
    batch_size: int = 32,
    workers: int = 2,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    model=None,
    store: FeatureStore | None = None,
) -> ExtractSummary:
    """Compute and store the features of every video not yet in the store.

    Decoding runs on ``workers`` threads (OpenCV releases the GIL) while the main
    thread runs batched inference; at most ``2 * workers`` decoded videos wait in
    memory, so memory does not grow with the dataset. A video that cannot be
    decoded is recorded and reported, never fatal.

    Args:
        paths: video files.
        spec: backbone, weights and sampler.
        store_dir: the feature store root (default ``default_store_dir()``).
        batch_size: frames per inference batch (a batch may span videos).
        workers: decoding threads.
        progress: called with a dict after each video (see module docs).
        should_stop: polled between videos; True ends the run early, keeping what is stored.
        model: an already built backbone for ``spec``, or a ``backbone_runner(spec)``
            (skips building, and for a runner also tracing, one).
        store: where to keep the results (default ``open_store(store_dir, spec)``; the
            activation cache of ``vidcore.features.activations`` is another).

    Returns:
        An ``ExtractSummary``.
    """
    start = time.perf_counter()
    # Opening settles the engine (it may measure, once a machine).
    store = store if store is not None else open_store(store_dir, spec)
    store.remove_stale_temps()
    paths = [Path(p) for p in dict.fromkeys(str(p) for p in paths)]
    summary = ExtractSummary(videos=len(paths), store=str(store.folder))
    todo = _triage(paths, store, summary)
    report = reporter(progress, len(paths), start)
    report(summary.cached + len(summary.failed), 0)
    if todo:
        _run_pipeline(todo, store, summary, batch_size, workers, report, should_stop, model)
    summary.seconds = time.perf_counter() - start
    return summary


def _triage(paths: Sequence[Path], store: FeatureStore, summary: ExtractSummary) -> list[Path]:
    """Count what is cached or known broken; return what must be computed."""
    todo = []
    for path in paths:
        try:
            reason = store.failure(path)
            cached = reason is None and store.get(path) is not None
        except OSError as err:  # the video itself is gone or unreadable
            reason, cached = f"cannot access the file: {err.strerror}", False
        if reason:
            summary.failed.append({"path": str(path), "reason": reason})
        elif cached:
            summary.cached += 1
        else:
            todo.append(path)
    return todo


def _run_pipeline(todo, store, summary, batch_size, workers, report, should_stop, model):
    # A ready runner (backbone_runner) is reused as is: a Ray actor calls extract() once
    # per chunk of videos and must not rebuild and retrace its model every time.
    backbone = model if isinstance(model, _Backbone) else _Backbone(store.spec, model)
    batcher = _Batcher(backbone, batch_size)
    finished = summary.cached + len(summary.failed)
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="vidcore-decode") as pool:
        for path, result in _decoded(pool, todo, store.spec.sampler, backbone.size, workers):
            if isinstance(result, Exception):
                _record_failure(store, summary, path, result)
                finished += 1
            else:
                done = batcher.add(path, result)
                finished += _store_done(store, summary, done)
            report(finished, summary.frames)
            if should_stop and should_stop():
                log.info("extraction stopped on request after %d videos", finished)
                break
        finished += _store_done(store, summary, batcher.flush())
        report(finished, summary.frames)


def _decoded(pool: ThreadPoolExecutor, paths, sampler, size: int, workers: int):
    """Yield (path, Frames or the decoding error) in order, keeping a bounded read-ahead."""
    ahead: deque[tuple[Path, Future]] = deque()
    queue = iter(paths)
    for path in queue:
        ahead.append((path, pool.submit(_decode, path, sampler, size)))
        if len(ahead) >= 2 * max(1, workers):
            break
    while ahead:
        path, future = ahead.popleft()
        nxt = next(queue, None)
        if nxt is not None:
            ahead.append((nxt, pool.submit(_decode, nxt, sampler, size)))
        try:
            yield path, future.result()
        except VidcoreError as err:
            yield path, err
        except Exception as err:  # a decoder crash on one file must not end the run
            log.exception("unexpected error decoding %s", path)
            yield path, err


def _store_done(store: FeatureStore, summary: ExtractSummary, done: list) -> int:
    for path, feats in done:
        store.put(path, feats)
        summary.computed += 1
        summary.frames += len(feats)
    return len(done)


def _record_failure(store, summary, path, err: Exception) -> None:
    reason = getattr(err, "reason", None) or str(err)
    log.warning("skipping %s: %s", path, reason)
    summary.failed.append({"path": str(path), "reason": reason})
    with contextlib.suppress(OSError):  # the file vanished; nothing to remember it by
        store.put_failure(path, reason)


def load_features(
    paths: Sequence[str | os.PathLike],
    spec: FeatureSpec,
    store_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    **extract_options,
) -> tuple[list[VideoFeatures | None], ExtractSummary]:
    """Features of every video, extracting what the store lacks.

    Returns:
        Features in the order of ``paths`` (None where a video could not be read),
        and the extraction summary.
    """
    summary = extract(paths, spec, store_dir, progress=progress, should_stop=should_stop,
                      **extract_options)
    store = open_store(store_dir, spec)
    out = []
    for path in paths:
        try:
            out.append(store.get(path))
        except OSError:
            out.append(None)
    return out, summary


def video_features(path, spec: FeatureSpec, model=None,
                   info: VideoInfo | None = None) -> tuple[Frames, VideoFeatures]:
    """Sample, decode and embed one video without touching the store (for predictions).

    Args:
        path: the video.
        spec: backbone, weights and sampler.
        model: a ``backbone_runner(spec)`` result to reuse (building one is slow).
        info: the video's ``probe`` result, when the caller has it already.

    Returns:
        The sampled frames at their original size, and their features.
    """
    runner = model if isinstance(model, _Backbone) else _Backbone(spec, model)
    frames = read_frames(path, spec.sampler, info=info)
    size = (runner.size, runner.size)
    small = np.stack([resize_frame(im, size) for im in frames.images])
    feats = np.concatenate([runner(small[i:i + 64]) for i in range(0, len(small), 64)])
    return frames, VideoFeatures(feats.astype(np.float16), frames.timestamps, frames.frame_ids)


def backbone_runner(
    spec: FeatureSpec, model=None, lazy: bool = False, fold: bool = True
) -> _Backbone:
    """A reusable backbone with compiled inference, for repeated ``video_features`` calls.

    Args:
        spec: backbone, weights and sampler.
        model: an already built backbone for ``spec``.
        lazy: build the model on the first call rather than now.
        fold: fold batch norms into convolutions (faster, same features to ~1e-5).
    """
    return _Backbone(spec, model, lazy, fold)
