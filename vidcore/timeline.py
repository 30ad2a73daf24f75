"""A video of any length as a timeline: the streaming classifier over a whole file.

Cost is bounded by what the model looks at, not by the file: only the frames on the
window's grid (one every ``WindowPlan.interval`` seconds) are converted, resized and
embedded, each once; the frames between are skipped with ``grab()`` and gaps longer
than ``vidcore.data.video.SEEK_GAP`` frames are seeked across (``read_frames``). The
file is read in chunks of ``CHUNK`` kept frames, so memory stays a few megabytes
whatever the length, and the head scores the windows of a chunk in one batch.
"""

from __future__ import annotations

import logging
import os
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from vidcore.data.sampling import Positions
from vidcore.data.video import VideoInfo, read_frames
from vidcore.errors import VideoReadError
from vidcore.models.loading import TrainedModel, load_model
from vidcore.predict import check_video
from vidcore.stream import Step, StreamClassifier, WindowPlan, window_plan

log = logging.getLogger(__name__)

CHUNK = 64  # kept frames decoded, embedded and scored together


@dataclass(frozen=True)
class _GridSampler:
    """Fixed positions: the chunk of the window grid being read (a ``Sampler``)."""

    positions_: Positions
    name: str = "grid"

    def positions(self, info: VideoInfo, rng=None) -> Positions:
        """The fixed positions that exist in ``info`` (a corrupt tail shrinks it)."""
        keep = self.positions_.frame_ids < info.frame_count
        if not keep.any():  # ends the timeline at the last chunk that decoded
            raise VideoReadError(info.path, f"no frame decodes after {info.duration:.1f} s")
        return Positions(self.positions_.frame_ids[keep], self.positions_.timestamps[keep])

    def config(self) -> dict:
        """See ``Sampler.config``."""
        return {"name": self.name, "frames": len(self.positions_)}


@dataclass
class Timeline:
    """What a model says about each stretch of one video.

    Attributes:
        video: the file.
        duration: its length in seconds.
        plan: the window (K frames every ``interval`` s) each step looked at.
        step: seconds between two steps.
        classes: class names in label order.
        steps: one ``Step`` per window scored, in time order.
        segments: runs of steps with one label: dicts with ``start``, ``end``,
            ``label`` (None where the model was unsure) and ``confidence`` (mean).
    """

    video: str
    duration: float
    plan: WindowPlan
    step: float
    classes: list[str]
    steps: list[Step]
    segments: list[dict]

    def to_dict(self) -> dict:
        """Plain dict for JSON: ``timeline`` (settings), ``steps`` and ``segments``."""
        return {"timeline": {"window": self.plan.seconds, "frames": self.plan.frames,
                             "interval": round(self.plan.interval, 6), "step": self.step,
                             "duration": self.duration},
                "steps": [s.to_dict(self.classes) for s in self.steps],
                "segments": self.segments}


def grid_positions(info: VideoInfo, interval: float) -> Positions:
    """Frames nearest to t = 0, interval, 2*interval, ... within the video."""
    times = np.arange(0.0, max(info.duration, 1e-9), interval)
    ids = np.unique(np.clip(np.round(times * info.fps), 0, info.frame_count - 1).astype(np.int64))
    return Positions(ids, ids / info.fps)


def timeline(model: TrainedModel | str | os.PathLike | None, video: str | os.PathLike,
             window: float | None = None, step: float | None = None, threshold: float = 0.5,
             smoothing: float | None = None, lane=None) -> Timeline:
    """Classify every window of a video (see ``vidcore.stream``) and merge them into segments.

    Args:
        model: a loaded model, a run directory, or None (active model, else demo model).
        video: the video file.
        window: seconds per window (default: the model's, see ``stream.window_plan``).
        step: seconds between verdicts (default: every kept frame).
        threshold: steps below this confidence are unsure.
        smoothing: EMA weight of the newest step (None: off).
        lane: a lock (e.g. the app's inference lane) held for each chunk of frames, not
            for the whole clip: other predictions take turns with a long clip's.

    Raises:
        InputError: a missing or unreadable video, a bad window or step.
        RunError: no usable model.
    """
    path, info = check_video(video)
    if not isinstance(model, TrainedModel):
        model = load_model(model)
    plan = window_plan(model, window)
    grid = grid_positions(info, plan.interval)
    # A clip shorter than the window gets one verdict on all its grid frames.
    clf = StreamClassifier(model, window, step, threshold, smoothing,
                           min_frames=min(plan.frames, len(grid)))
    steps: list[Step] = []
    for start in range(0, len(grid), CHUNK):
        chunk = Positions(grid.frame_ids[start:start + CHUNK], grid.timestamps[start:start + CHUNK])
        try:
            with lane or nullcontext():
                steps += _chunk_steps(clf, path, chunk, info)
        except VideoReadError:
            if not steps:
                raise
            log.warning("%s: decoding stopped at %.1f s; the timeline ends there",
                        path, steps[-1].time)
            break
    duration = float(info.duration)
    return Timeline(str(path), duration, clf.plan, clf.step, clf.classes,
                    steps, segments(steps, duration))


def _chunk_steps(clf: StreamClassifier, path, chunk: Positions, info: VideoInfo) -> list[Step]:
    """Decode, embed and score one chunk of the grid (in time order)."""
    size = clf.model.backbone().size
    frames = read_frames(path, _GridSampler(chunk), size=(size, size), info=info)
    feats = clf.embed(frames.images)
    windows = [w for f, t, i in zip(feats, frames.timestamps, frames.frame_ids, strict=True)
               if (w := clf.add_feature(f, float(t), int(i))) is not None]
    if not windows:
        return []
    return [clf.verdict(out, w) for out, w in
            zip(clf.model.predict_many(windows), windows, strict=True)]


def segments(steps: list[Step], duration: float) -> list[dict]:
    """Merge neighbouring steps with one label into ``{start, end, label, confidence}``.

    The first segment starts at 0 and the last ends at ``duration``; an unsure step
    (unfamiliar ones included) has label None, and a segment of unfamiliar steps says so
    (``unfamiliar``: True). Where the label changes, the boundary is placed by ``change_time``.
    """
    out: list[dict] = []
    for i, s in enumerate(steps):
        label = None if s.unsure else s.label
        if out and out[-1]["label"] == label and out[-1]["unfamiliar"] == bool(s.unfamiliar):
            out[-1]["_conf"].append(s.confidence)
            continue
        start = 0.0 if i == 0 else max(change_time(steps[i - 1], s, label), out[-1]["start"])
        if out:
            out[-1]["end"] = start
        out.append({"start": start, "end": duration, "label": label,
                    "unfamiliar": bool(s.unfamiliar), "_conf": [s.confidence]})
    for seg in out:
        seg["confidence"] = round(float(np.mean(seg.pop("_conf"))), 6)
        seg["start"], seg["end"] = round(seg["start"], 4), round(seg["end"], 4)
    return out


def change_time(before: Step, after: Step, label: str | None) -> float:
    """Where the action changes between two steps that disagree.

    A temporal head names a new action once a few frames of its window show it, so the
    window's newest frames carry the change: the boundary is halfway between the last
    frame of ``after``'s window whose own best class is not ``label`` and the run of
    frames that are. Without such a run (an unsure step, a noisy frame output) it is
    halfway between the two steps' newest frames.
    """
    fallback = (before.time + after.time) / 2
    if label is None:
        return fallback
    times, labels = after.frame_times, after.frame_labels
    j = len(labels)
    while j > 0 and labels[j - 1] == label:
        j -= 1
    if j == len(labels):
        return fallback
    return times[0] if j == 0 else (times[j - 1] + times[j]) / 2
