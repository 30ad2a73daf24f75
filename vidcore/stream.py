"""One streaming classifier: frames in one by one, a verdict on the last few seconds out.

A trained model looks at K frames of a clip (its sampler). On a stream there is no
clip, so the classifier keeps a **window** of the last W seconds as K frames, spaced as
the model's sampler would space them over a clip of W seconds (``WindowPlan``). Each
kept frame is embedded once into a ring buffer of features, so a new frame costs one
backbone call, not K; the head then runs on the window (the same
``TrainedModel.predict_many`` and ``vidcore.evaluate.aggregate`` that ``predict`` uses,
which is why a window fed frame by frame gives ``predict``'s probabilities).

Used by the Live page (camera frames, through ``vidcore.views.live_feed.LiveStream``: a
bounded queue with a latest-frame policy and one worker thread) and by
``vidcore.timeline`` (a file of any length).
"""

from __future__ import annotations

import collections
import logging
import math
from dataclasses import dataclass, field

import numpy as np

from vidcore.data.video import resize_frame
from vidcore.errors import InputError
from vidcore.evaluate import aggregate
from vidcore.features import VideoFeatures
from vidcore.models.loading import ModelOutput, TrainedModel

log = logging.getLogger(__name__)

# A sampler that picks K frames of a whole clip (uniform, segments) says nothing about
# how long the clip is: the run does not record its training clips' lengths. This is
# the window such a model sees on a stream unless the run's config has "window_s" or
# the caller gives one; 3 s is the middle of the demo clips (2-3.5 s) and of the
# single actions of UCF101's short classes.
DEFAULT_WINDOW_S = 3.0
TIME_TOLERANCE = 1e-6  # seconds; frame times like i/25 land on the keep grid despite rounding


@dataclass(frozen=True)
class WindowPlan:
    """How a model looks at a stream: K frames spaced ``interval`` seconds apart.

    Attributes:
        seconds: the window W, from its first kept frame to its last.
        frames: K, frames in a full window.
        interval: seconds between two kept frames (the model's sampling rate is its inverse).
    """

    seconds: float
    frames: int
    interval: float

    @property
    def rate(self) -> float:
        """Kept frames per second."""
        return 1.0 / self.interval


def window_plan(model: TrainedModel, window: float | None = None) -> WindowPlan:
    """The stream window of a model: its sampler's K frames over W seconds.

    Args:
        model: a loaded model (its ``feature_spec.sampler`` gives K and the spacing).
        window: W in seconds; default the run config's ``window_s``, else
            ``DEFAULT_WINDOW_S`` (an fps sampler: its own rate over that window).

    Raises:
        InputError: a window that is not a positive number.
    """
    seconds = window if window is not None else model.config.get("window_s", DEFAULT_WINDOW_S)
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds <= 0:
        raise InputError(f"the window must be a positive number of seconds, got {seconds!r}")
    cfg = model.feature_spec.sampler.config()
    if cfg["name"] == "fps":  # frames at its rate; K is how many fit in the window
        interval = 1.0 / cfg["rate"]
        return WindowPlan(float(seconds), max(1, round(seconds / interval) + 1), interval)
    k = int(cfg["frames"])
    # uniform spreads K frames from the clip's first to its last (K-1 gaps); segments
    # takes the centre of K equal parts (K gaps of a clip, K-1 between its frames too).
    gaps = max(k - 1, 1)
    return WindowPlan(float(seconds), k, seconds / gaps)


class KeepClock:
    """Decides which frames of a stream are kept: the first at or after each grid time.

    The grid starts at the first frame's time and advances by ``interval``; a camera at
    any frame rate is thinned to the model's rate. Frames whose time goes backwards are
    refused (``True`` only for a frame that moves the clock on).
    """

    def __init__(self, interval: float):
        self.interval = interval
        self.next: float | None = None

    def wants(self, t: float) -> bool:
        """Whether the frame at ``t`` seconds is kept (advances the clock when it is)."""
        if self.next is None:
            self.next = t
        if t < self.next - TIME_TOLERANCE:
            return False
        # Skip grid points a slow source jumped over, so one late frame is not followed
        # by a burst of kept ones.
        missed = math.floor((t - self.next + TIME_TOLERANCE) / self.interval)
        self.next += (missed + 1) * self.interval
        return True

    def reset(self) -> None:
        """Start a new grid at the next frame."""
        self.next = None


@dataclass
class Step:
    """The verdict on one window.

    Attributes:
        time: the newest frame's time in seconds (the stream's "now").
        start: the oldest frame's time in the window.
        frames: frames in the window (below K while the stream warms up).
        probabilities: per aggregator the model has, the class probabilities (C,).
        scores: the probabilities the label is read from: the primary aggregator's,
            smoothed over steps when smoothing is on.
        label: the best class name.
        confidence: its score.
        unsure: True when ``confidence`` is below the threshold.
        frame_times: the window's frame times, oldest first.
        frame_labels: each of those frames' own best class (the head's per-frame
            output), which places a change of action inside the window.
        unfamiliar: the window is unlike the clips the model was trained on
            (``vidcore.familiarity``; None for a run without ``familiarity.npz``): such
            a window is also ``unsure``, so no confident answer is shown for it.
    """

    time: float
    start: float
    frames: int
    probabilities: dict[str, np.ndarray]
    scores: np.ndarray
    label: str
    confidence: float
    unsure: bool
    frame_times: list[float] = field(default_factory=list)
    frame_labels: list[str] = field(default_factory=list)
    unfamiliar: bool | None = None

    @property
    def centre(self) -> float:
        """The middle of the window: where a timeline places this verdict."""
        return (self.start + self.time) / 2

    def to_dict(self, classes: list[str]) -> dict:
        """Plain dict for JSON: times, label, and each aggregator's probabilities by class."""
        return {"time": round(self.time, 4), "start": round(self.start, 4),
                "centre": round(self.centre, 4), "frames": self.frames,
                "label": self.label, "confidence": round(float(self.confidence), 6),
                "unsure": self.unsure, "unfamiliar": self.unfamiliar,
                "probabilities": {name: dict(zip(classes, np.round(p.astype(float), 6).tolist(),
                                                 strict=True))
                                  for name, p in self.probabilities.items()}}


class StreamClassifier:
    """Frames in one by one (with their times), a ``Step`` out whenever a step is due.

    Args:
        model: a loaded model; its backbone is the shared ``model.backbone()``.
        window: W seconds (see ``window_plan``).
        step: seconds between two verdicts, rounded to whole kept-frame intervals
            (default: every kept frame); ``self.step`` is the rounded value.
        threshold: a label whose confidence is below this is ``unsure``.
        smoothing: EMA weight of the newest step in (0, 1]; None or 1 turns it off.
        aggregator: which aggregator gives the label (default: the head's own).
        min_frames: frames a window needs before the first verdict (default: K, a full
            window; fewer gives a first label sooner on a camera).
    """

    def __init__(self, model: TrainedModel, window: float | None = None,
                 step: float | None = None, threshold: float = 0.5,
                 smoothing: float | None = None, aggregator: str | None = None,
                 min_frames: int | None = None):
        self.model, self.plan = model, window_plan(model, window)
        self.classes = list(model.classes)
        self.aggregator = aggregator or model.primary
        if self.aggregator not in model.spec.aggregators:
            raise InputError(f"aggregator {self.aggregator!r} is not one of this model's: "
                             f"{', '.join(model.spec.aggregators)}")
        if step is not None and not (isinstance(step, int | float) and step > 0):
            raise InputError(f"the step must be a positive number of seconds, got {step!r}")
        if smoothing is not None and not 0 < smoothing <= 1:
            raise InputError(f"smoothing must be in (0, 1] (1 = off), got {smoothing!r}")
        self.threshold, self.smoothing = threshold, smoothing
        # Verdicts come on kept frames, so a step is a whole number of intervals.
        self.every = max(1, round(step / self.plan.interval)) if step else 1
        self.step = self.every * self.plan.interval
        self._since_step = 0
        self.min_frames = min(min_frames or self.plan.frames, self.plan.frames)
        self.clock = KeepClock(self.plan.interval)
        self._feats: collections.deque = collections.deque(maxlen=self.plan.frames)
        self._times: collections.deque = collections.deque(maxlen=self.plan.frames)
        self._ids: collections.deque = collections.deque(maxlen=self.plan.frames)
        self._last_step: float | None = None
        self._ema: np.ndarray | None = None
        self._trust = _trust(model)

    def warm_up(self) -> None:
        """Build the backbone and trace the head on a blank window, so the first real
        frame is quick (building takes seconds, and a camera connection waits for no one).
        The window itself is left empty."""
        size = self.model.backbone().size
        feature = self.embed([np.zeros((size, size, 3), np.uint8)])[0]
        k = self.plan.frames
        self.model.predict_features(VideoFeatures(
            np.repeat(feature[None], k, 0), np.arange(k, dtype=np.float64),
            np.arange(k, dtype=np.int64)))

    # ---------------------------------------------------------------- feeding

    def push(self, image: np.ndarray, t: float) -> Step | None:
        """Offer one RGB uint8 frame at ``t`` seconds; a ``Step`` when one is due, else None."""
        if not self.clock.wants(t):
            return None
        return self.push_kept(image, t)

    def push_kept(self, image: np.ndarray, t: float) -> Step | None:
        """Embed a frame the clock kept (one backbone call) and step when due."""
        return self.push_feature(self.embed([image])[0], t)

    def embed(self, images) -> np.ndarray:
        """Backbone features (float16, as ``predict`` stores them) of RGB frames of any size."""
        runner = self.model.backbone()
        size = (runner.size, runner.size)
        small = np.stack([resize_frame(np.asarray(im), size) for im in images])
        return runner(small).astype(np.float16)

    def push_feature(self, feature: np.ndarray, t: float, frame_id: int | None = None
                     ) -> Step | None:
        """Add the feature of a kept frame to the ring buffer; a ``Step`` when one is due."""
        window = self.add_feature(feature, t, frame_id)
        if window is None:
            return None
        return self.verdict(self.model.predict_features(window), window)

    def add_feature(self, feature: np.ndarray, t: float, frame_id: int | None = None
                    ) -> VideoFeatures | None:
        """Like ``push_feature`` without running the head: the due window, or None.

        ``vidcore.timeline`` collects the windows and scores them in batches.
        """
        self._feats.append(np.asarray(feature))
        self._times.append(float(t))
        self._ids.append(len(self._ids) if frame_id is None else int(frame_id))
        if len(self._feats) < self.min_frames:
            return None
        self._since_step += 1
        if self._last_step is not None and self._since_step < self.every:
            return None
        self._last_step, self._since_step = float(t), 0
        # A window not yet full is spread over K frames with repeats, as the uniform
        # sampler treats a clip shorter than K frames; the head then always sees one
        # shape (a new sequence length cost 9 s of kernel building here, mid-stream).
        pick = np.round(np.linspace(0, len(self._feats) - 1, self.plan.frames)).astype(np.int64)
        return VideoFeatures(np.stack(self._feats)[pick],
                             np.array(self._times, np.float64)[pick],
                             np.array(self._ids, np.int64)[pick])

    # ---------------------------------------------------------------- verdicts

    def verdict(self, output: ModelOutput, window: VideoFeatures | None = None) -> Step:
        """The ``Step`` of one scored window: every aggregator (temperature-scaled where
        the run has fitted one, as predictions are), the label, smoothing, and (given the
        ``window``'s features and a run with a familiarity file) whether the window is
        unfamiliar."""
        probs = {name: np.asarray(aggregate(output, name).scores, np.float64)
                 for name in self.model.spec.aggregators}
        if self._trust is not None:
            probs = {name: np.asarray(self._trust.scores(name, p), np.float64)
                     for name, p in probs.items()}
        scores = self._smooth(probs[self.aggregator])
        best = int(np.argmax(scores))
        confidence = float(scores[best])
        times = [float(t) for t in output.timestamps]
        unfamiliar = None
        checked = None if window is None or self._trust is None else \
            self._trust.check(window.features)
        if checked is not None:
            unfamiliar = checked["unfamiliar"]
        return Step(time=times[-1], start=times[0], frames=len(set(times)), probabilities=probs,
                    scores=scores, label=self.classes[best], confidence=confidence,
                    unsure=confidence < self.threshold or bool(unfamiliar), frame_times=times,
                    frame_labels=[self.classes[i] for i in np.argmax(output.frame_probs, 1)],
                    unfamiliar=unfamiliar)

    def _smooth(self, scores: np.ndarray) -> np.ndarray:
        if self.smoothing is None or self.smoothing >= 1:
            return scores
        if self._ema is None:
            self._ema = scores
        else:
            self._ema = self.smoothing * scores + (1 - self.smoothing) * self._ema
        return self._ema

    def reset(self) -> None:
        """Forget the window and the smoothing (a new stream starts)."""
        self.clock.reset()
        for buf in (self._feats, self._times, self._ids):
            buf.clear()
        self._last_step, self._ema, self._since_step = None, None, 0


def _trust(model: TrainedModel):
    """The model's run calibration and familiarity (``vidcore.trust``), or None."""
    from vidcore.trust import run_trust

    run_dir = getattr(model, "run_dir", None)
    return run_trust(run_dir) if run_dir else None
