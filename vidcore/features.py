"""Frame features: a streaming extraction pipeline and the on-disk feature store.

Store format (one folder per feature spec, one file per video)::

    <store>/<backbone>__<weights id>__<precision>__<sampler>/spec.json
    <store>/<backbone>__<weights id>__<precision>__<sampler>/<k[:2]>/<k>.npz   one video
    <store>/<backbone>__<weights id>__<precision>__<sampler>/<k[:2]>/<k>.failed.json
                                                          (why it could not be read)

``<precision>`` is the one the backbone really computes in (``f32`` or ``bf16``, see
``vidcore.models.precision``), so features of the two never mix. The engine
(``vidcore.models.engines``) is not in the key: LiteRT computes in float32 only, and
its float32 features equal Keras float32's to about 1e-5 (every conversion is guarded
at 1e-3, float16 storage rounds at about 2e-3), so the two share ``f32`` folders,
while bfloat16 (off by up to 0.27) keeps its own.

``k`` hashes the video's absolute path, size and mtime, so an edited video is
recomputed. Why one ``.npz`` per video: each entry is written to a temporary file
in the same folder and renamed into place, which is atomic on POSIX. A reader never
sees half an entry, a ``kill -9`` loses at most the videos in flight, and two
processes extracting into one store need no lock: they may both compute a video,
and whichever rename lands last leaves an identical, complete file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from vidcore import settings
from vidcore.atomic import write_with
from vidcore.data.sampling import Sampler, UniformSampler, describe, sampler_from_config
from vidcore.data.video import Frames, VideoInfo, read_frames, resize_frame
from vidcore.errors import InputError, VidcoreError

log = logging.getLogger(__name__)

ENTRY_KEYS = ("features", "timestamps", "frame_ids")
TEMP_PREFIX = ".tmp-"  # doctor and remove_stale_temps look for it
STALE_TEMP_SECONDS = 3600  # temp files older than this were left by a killed process
Progress = Callable[[dict], None]


@dataclass(frozen=True)
class FeatureSpec:
    """Which features: a backbone, its weights, a frame sampler and a precision.

    Attributes:
        backbone: registry name (see ``vidcore.models.backbones``).
        weights: ``"imagenet"``, ``None`` (random, for tests) or a weights file path.
        sampler: which frames of each video.
        precision: ``"auto"`` (bfloat16 where the CPU and backbone allow, else
            float32), ``"float32"`` or ``"bfloat16"``; see ``vidcore.models.precision``.
        flip: test-time augmentation: each frame's features are the mean of the frame's
            and its horizontal mirror's (twice the backbone cost; stored apart).
    """

    backbone: str = "efficientnet_lite0"
    weights: str | None = "imagenet"
    sampler: Sampler = UniformSampler(8)
    precision: str = "auto"
    engine: str = "auto"
    flip: bool = False

    def to_dict(self) -> dict:
        """Plain dict for JSON (``flip`` only when set, so older specs read the same)."""
        data = {"backbone": self.backbone, "weights": self.weights,
                "sampler": self.sampler.config(), "precision": self.precision,
                "engine": self.engine}
        return {**data, "flip": True} if self.flip else data

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        """Inverse of ``to_dict``."""
        return cls(data["backbone"], data.get("weights", "imagenet"),
                   sampler_from_config(data["sampler"]), data.get("precision", "auto"),
                   data.get("engine", "auto"), bool(data.get("flip", False)))

    def engine_choice(self):
        """The engine and precision the backbone runs on here (``vidcore.models.engines``:
        measured once per machine, then remembered; ``$VIDCORE_ENGINE`` overrides)."""
        from vidcore.models import engines

        return engines.choose(self)

    def compute_precision(self) -> str:
        """The precision the backbone really computes in on this machine."""
        return self.engine_choice().precision

    def pinned(self) -> FeatureSpec:
        """This spec with ``"auto"`` replaced by the engine and precision this machine
        runs, for work handed to other machines (whose CPUs may choose otherwise)."""
        choice = self.engine_choice()
        return replace(self, precision=choice.precision, engine=choice.engine)

    def folder_name(self) -> str:
        """Store sub-folder: readable, and unique for backbone, weights, precision and
        sampler."""
        from vidcore.models.backbones import weights_fingerprint
        from vidcore.models.precision import SHORT

        sampler = json.dumps(self.sampler.config(), sort_keys=True)
        slug = describe(self.sampler).replace(", ", "-").replace(" ", "")
        digest = hashlib.sha1(sampler.encode()).hexdigest()[:6]
        weights_id = weights_fingerprint(self.backbone, self.weights)
        # Precision, not engine: float32 LiteRT and float32 Keras agree to ~1e-5 (below
        # the float16 the store keeps), so they share a folder; bfloat16 differs, apart.
        compute = SHORT[self.compute_precision()]
        # Flip-averaged features differ from plain ones: their own folder (plain keeps
        # its old name, so existing stores stay valid).
        tta = "__flip" if self.flip else ""
        return f"{self.backbone}__{weights_id}__{compute}__{slug}-{digest}{tta}"


@dataclass(frozen=True)
class VideoFeatures:
    """Features of the sampled frames of one video, in temporal order.

    Attributes:
        features: float16 (T, D).
        timestamps: seconds, float64 (T,).
        frame_ids: int64 (T,).
    """

    features: np.ndarray
    timestamps: np.ndarray
    frame_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.frame_ids)


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


default_store_dir = settings.store_dir  # ``$VIDCORE_STORE`` or ``<project>/features``


def video_key(path: str | os.PathLike) -> str:
    """Identity of a video file: its absolute path, size and modification time."""
    path = Path(path).resolve()
    stat = path.stat()
    return hashlib.sha1(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()


class FeatureStore:
    """The on-disk features of one ``FeatureSpec``."""

    def __init__(self, root: str | os.PathLike | None, spec: FeatureSpec):
        self.spec = spec
        self.root = Path(root) if root else default_store_dir()
        self.folder = self.root / spec.folder_name()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            spec_file = self.folder / "spec.json"
            if not spec_file.exists():
                text = json.dumps(spec.to_dict(), indent=2).encode()
                write_with(spec_file, lambda f: f.write(text), TEMP_PREFIX)
        except OSError as err:
            raise InputError(f"cannot write the feature store at {self.folder}: "
                             f"{err.strerror}; choose another folder with --store") from err

    def _entry(self, key: str, suffix: str = ".npz") -> Path:
        return self.folder / key[:2] / f"{key}{suffix}"

    def get(self, path) -> VideoFeatures | None:
        """The stored features of a video, or None (a damaged entry counts as absent)."""
        entry = self._entry(video_key(path))
        try:
            with np.load(entry, allow_pickle=False) as data:
                feats = VideoFeatures(*(data[k] for k in ENTRY_KEYS))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
            log.warning("damaged feature entry %s (%s): it will be recomputed", entry, err)
            return None
        return feats if _valid(feats) else None

    def put(self, path, feats: VideoFeatures) -> None:
        """Store a video's features atomically; clears an earlier failure note."""
        key = video_key(path)
        arrays = {"features": feats.features.astype(np.float16),
                  "timestamps": feats.timestamps, "frame_ids": feats.frame_ids}
        try:
            write_with(self._entry(key), lambda f: np.savez(f, **arrays), TEMP_PREFIX)
        except OSError as err:  # disk full, read-only, quota: stop with what to do
            raise InputError(
                f"cannot write to the feature store {self.folder}: {err.strerror or err}; "
                "free some space or choose another folder with --store (what is stored "
                "so far is intact and will be reused)") from err
        self._entry(key, ".failed.json").unlink(missing_ok=True)

    def failure(self, path) -> str | None:
        """The recorded reason a video could not be read, or None."""
        try:
            return json.loads(self._entry(video_key(path), ".failed.json").read_text())["reason"]
        except (OSError, ValueError, KeyError):
            return None

    def put_failure(self, path, reason: str) -> None:
        """Remember that a video could not be read (so re-runs skip it quickly)."""
        text = json.dumps({"path": str(path), "reason": reason}).encode()
        write_with(self._entry(video_key(path), ".failed.json"), lambda f: f.write(text),
                   TEMP_PREFIX)

    def remove_stale_temps(self) -> int:
        """Delete temp files left by killed processes; return how many."""
        now, removed = time.time(), 0
        for tmp in self.folder.glob(f"**/{TEMP_PREFIX}*"):
            try:
                if now - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                    tmp.unlink()
                    removed += 1
            except OSError:
                continue
        return removed


def _valid(feats: VideoFeatures) -> bool:
    n = len(feats.frame_ids)
    return (feats.features.ndim == 2 and feats.features.shape[0] == n == len(feats.timestamps)
            and n > 0 and bool(np.isfinite(feats.features).all()))


# ---------------------------------------------------------------- the pipeline


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
                entry[2] = np.empty((len(entry[1]), out.shape[1]), np.float16)
            entry[2][i] = row
            entry[3] -= 1
            if entry[3] == 0:
                path, frames, feats, _ = self.videos.pop(vid)
                done.append((path, VideoFeatures(feats, frames.timestamps, frames.frame_ids)))
        self.buffer, self.rows = [], []
        return done


def _reporter(progress: Progress | None, total: int, start: float):
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

    Returns:
        An ``ExtractSummary``.
    """
    start = time.perf_counter()
    store = FeatureStore(store_dir, spec)
    store.remove_stale_temps()
    paths = [Path(p) for p in dict.fromkeys(str(p) for p in paths)]
    summary = ExtractSummary(videos=len(paths), store=str(store.folder))
    todo = _triage(paths, store, summary)
    report = _reporter(progress, len(paths), start)
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
    store = FeatureStore(store_dir, spec)
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


def entry_files(folder: Path) -> list[Path]:
    """The feature entries of one feature-set folder (temp files excluded)."""
    return [p for p in folder.glob("*/*.npz") if not p.name.startswith(".")]


def store_usage(store_dir: str | os.PathLike | None = None) -> list[dict]:
    """Feature sets in a store: spec, number of videos, bytes on disk."""
    root = Path(store_dir) if store_dir else default_store_dir()
    rows = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        files = entry_files(folder)
        rows.append({"folder": folder.name, "videos": len(files),
                     "bytes": sum(f.stat().st_size for f in files)})
    return rows
