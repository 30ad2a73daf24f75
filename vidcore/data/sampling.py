"""Frame samplers: which frames of a video to look at. They return positions, not pixels."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from vidcore.data.info import VideoInfo
from vidcore.errors import InputError


@dataclass(frozen=True)
class Positions:
    """Frame ids (int64) and their timestamps in seconds (float64), in sampling order.

    ``uncapped`` is how many frames the sampler would have taken without its
    ``max_frames`` cap, when the cap cut them; None when no cap applied.
    """

    frame_ids: np.ndarray
    timestamps: np.ndarray
    uncapped: int | None = None

    def __len__(self) -> int:
        return len(self.frame_ids)


class Sampler(Protocol):
    """The interface every sampler implements.

    A sampler that picks frames by time may also implement
    ``positions_from_times(times) -> Positions``; decoding uses it when a clip's frame
    times are irregular (variable frame rate), see ``FpsSampler``.
    """

    name: str

    def positions(self, info: VideoInfo, rng: np.random.Generator | None = None) -> Positions:
        """Pick frames of a video described by ``info``."""
        ...

    def config(self) -> dict:
        """A plain dict that rebuilds this sampler with ``sampler_from_config``."""
        ...


def _from_ids(ids, info: VideoInfo) -> Positions:
    ids = np.clip(np.asarray(ids, np.int64), 0, max(info.frame_count - 1, 0))
    return Positions(ids, ids / info.fps)


def _capped(positions: Positions, limit: int | None) -> Positions:
    """At most ``limit`` positions spread evenly, first and last included.

    Records how many there were when the cap cut them, so callers can say so.
    """
    n = len(positions)
    if limit is None or n <= limit:
        return positions
    picks = np.round(np.linspace(0, n - 1, limit)).astype(np.int64)
    return Positions(positions.frame_ids[picks], positions.timestamps[picks], uncapped=n)


def _nearest(times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index of the value of ``times`` (increasing) nearest to each target."""
    right = np.clip(np.searchsorted(times, targets), 0, len(times) - 1)
    left = np.maximum(right - 1, 0)
    take_left = np.abs(times[left] - targets) <= np.abs(times[right] - targets)
    return np.where(take_left, left, right).astype(np.int64)


@dataclass(frozen=True)
class FpsSampler:
    """``rate`` frames per second of video time (1.0 is the reference pipeline).

    Timed by timestamps, not by ``id % floor(fps)``, so a 29.97 fps clip is sampled
    evenly; a clip shorter than one interval still yields its first frame.
    ``max_frames`` caps very long videos by spreading that many frames evenly.
    On a variable-frame-rate clip, decoding calls ``positions_from_times`` with the
    frames' real timestamps instead (see ``vidcore.data.video.read_frames``).
    """

    rate: float = 1.0
    max_frames: int | None = None
    name: str = "fps"

    def __post_init__(self):
        _check_positive("rate", self.rate)
        if self.max_frames is not None:
            _check_positive("max_frames", self.max_frames)

    def positions(self, info: VideoInfo, rng: np.random.Generator | None = None) -> Positions:
        """Frames at t = 0, 1/rate, 2/rate, ... within the video."""
        steps = max(1, math.ceil(info.duration * self.rate - 1e-9))
        times = np.arange(steps) / self.rate
        ids = np.unique(np.round(times * info.fps).astype(np.int64))
        ids = ids[ids < max(info.frame_count, 1)]
        return _capped(_from_ids(ids, info), self.max_frames)

    def positions_from_times(self, times: np.ndarray) -> Positions:
        """Frames nearest to t = 0, 1/rate, 2/rate, ... given every frame's real timestamp.

        ``positions`` assumes frame i sits at i / fps, which is false when the frame
        rate varies (phones record such clips); this picks by the timestamps.

        Args:
            times: seconds of every frame of the clip, increasing, the first at 0.
        """
        times = np.asarray(times, np.float64)
        interval = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
        # A target belongs to the clip while its nearest frame is inside the clip.
        steps = int(math.floor((times[-1] + interval / 2) * self.rate + 1e-9)) + 1
        ids = np.unique(_nearest(times, np.arange(steps) / self.rate))
        return _capped(Positions(ids, times[ids]), self.max_frames)

    def config(self) -> dict:
        """See ``Sampler.config``."""
        return asdict(self)


@dataclass(frozen=True)
class UniformSampler:
    """``frames`` evenly spaced frames from the first to the last (repeats if too short)."""

    frames: int = 8
    name: str = "uniform"

    def __post_init__(self):
        _check_positive("frames", self.frames)

    def positions(self, info: VideoInfo, rng: np.random.Generator | None = None) -> Positions:
        """Evenly spaced frames, first and last included."""
        last = max(info.frame_count - 1, 0)
        return _from_ids(np.round(np.linspace(0, last, self.frames)), info)

    def config(self) -> dict:
        """See ``Sampler.config``."""
        return asdict(self)


@dataclass(frozen=True)
class SegmentsSampler:
    """``frames`` equal segments; the centre frame of each, or a random one if ``random``.

    The random variant (TSN-style) is for training-time jitter; pass ``rng`` to make it
    reproducible. Without ``rng`` it falls back to centres.
    """

    frames: int = 8
    random: bool = False
    name: str = "segments"

    def __post_init__(self):
        _check_positive("frames", self.frames)

    def positions(self, info: VideoInfo, rng: np.random.Generator | None = None) -> Positions:
        """One frame per segment."""
        n = max(info.frame_count, 1)
        starts = np.arange(self.frames) * n / self.frames
        width = n / self.frames
        if self.random and rng is not None:
            offsets = rng.uniform(0, width, self.frames)
        else:
            offsets = np.full(self.frames, width / 2)
        return _from_ids(np.floor(starts + offsets), info)

    def config(self) -> dict:
        """See ``Sampler.config``."""
        return asdict(self)


SAMPLERS = {"fps": FpsSampler, "uniform": UniformSampler, "segments": SegmentsSampler}


def _check_positive(name: str, value) -> None:
    if not isinstance(value, int | float) or not value > 0 or not math.isfinite(value):
        raise InputError(f"sampler {name} must be a positive number, got {value!r}")


def create_sampler(name: str, **params) -> Sampler:
    """Build a sampler by name.

    Args:
        name: one of ``fps``, ``uniform``, ``segments``.
        **params: the sampler's fields (``rate``, ``max_frames``, ``frames``, ``random``);
            ``None`` values are ignored so CLI defaults pass through.

    Raises:
        InputError: unknown name or parameter, listing the valid ones.
    """
    if name not in SAMPLERS:
        raise InputError(f"unknown sampler {name!r}; choose one of: {', '.join(SAMPLERS)}")
    cls = SAMPLERS[name]
    params = {k: v for k, v in params.items() if v is not None and k != "name"}
    allowed = [f for f in cls.__dataclass_fields__ if f != "name"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InputError(
            f"sampler {name!r} takes {', '.join(allowed)}; not {', '.join(unknown)}"
        )
    return cls(**params)


def sampler_from_config(config: dict) -> Sampler:
    """Rebuild a sampler from ``Sampler.config()`` output."""
    config = dict(config)
    return create_sampler(config.pop("name", "fps"), **config)


def cap_note(sampler: Sampler, taken: int, uncapped: int | None) -> str | None:
    """One sentence saying that the ``max_frames`` cap applied, or None when it did not.

    Args:
        sampler: the sampler that picked the frames.
        taken: frames it took.
        uncapped: frames it would have taken without the cap (``Positions.uncapped``).
    """
    if not uncapped:
        return None
    cfg = sampler.config()
    return (f"sampled {taken} of the {uncapped} frames that {cfg.get('rate', 1):g} per second "
            f"would give: this sampler takes at most max_frames={cfg.get('max_frames')}, "
            "spread evenly over the clip")


def describe(sampler: Sampler) -> str:
    """Short human text, e.g. ``uniform, 8 frames`` or ``fps, 1 per second``."""
    cfg = sampler.config()
    if cfg["name"] == "fps":
        cap = f", at most {cfg['max_frames']}" if cfg.get("max_frames") else ""
        return f"fps, {cfg['rate']:g} per second{cap}"
    extra = ", random within segment" if cfg.get("random") else ""
    return f"{cfg['name']}, {cfg['frames']} frames{extra}"
