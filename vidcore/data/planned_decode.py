"""Decoding only what a sampler keeps (issue 24): PyAV with the clip's packets in memory.

OpenCV's reader (``vidcore.data.video``) decodes every frame up to the last one kept
(``grab()`` skips only the colour conversion). Here one demux pass reads the packets
(no decoding), then, per wanted frame: when a keyframe lies between the decoder and
that frame, the decoder restarts there (a seek without I/O), and packets of unwanted
frames are fed with ``skip_frame = NONREF``: the decoder drops a non-reference frame
(a B-frame) outright and still decodes every reference frame, so the kept frames'
pixels cannot change, only how many frames are decoded does.

Which frames are kept never changes: ids are the sampler's (OpenCV's numbering, the
decoder's output order from 0), matched to packets by presentation rank. A clip this
method cannot number exactly is left to OpenCV: AVI with B-frames (its timestamps
follow the decoding order, so UCF101's XviD files stay with OpenCV), packets without
distinct timestamps, a packet count other than the probe's frame count, a
variable frame rate, a rotation in the file.

The choice is measured, per kind of clip (container and codec) in this process: the
first ``TRIALS`` clips of a kind are decoded both ways, timed in thread CPU seconds
and compared pixel for pixel; the kind then keeps the cheaper method, and a single
difference sends the kind to OpenCV for good. ``VIDCORE_DECODER`` (``vidcore.settings``)
forces one method.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from fractions import Fraction

import cv2
import numpy as np

from vidcore import settings
from vidcore.data.info import VideoInfo

log = logging.getLogger(__name__)

TRIALS = 3  # clips of a kind decoded both ways before the kind keeps one
Kept = dict[int, np.ndarray]


def decode_planned(path: str | os.PathLike, ids: Sequence[int], size, info: VideoInfo,
                   resize: Callable) -> Kept | None:
    """The wanted frames as RGB uint8, resized with ``resize(bgr, size)`` when ``size``
    is given, or None when this clip is one to leave to OpenCV (see the module doc).

    Args:
        path: the video.
        ids: frame ids to keep (repeats allowed).
        size: ``(width, height)`` or None.
        info: the clip's probe (its frame count and rate are checked against the packets).
        resize: ``vidcore.data.video.resize_frame``, so both readers resize alike.
    """
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1  # extraction decodes files in parallel
            if stream.codec_context.has_b_frames and container.format.name == "avi":
                return None  # packed B-frames: AVI timestamps follow the decoding order
            packets = [p for p in container.demux(stream) if p.size]
            ranks = _ranks(packets, stream.time_base, info)
            if ranks is None:
                return None
            return _decode(stream.codec_context, packets, ranks, ids, size, resize)
    except (av.FFmpegError, ValueError, IndexError) as err:
        log.debug("%s: planned decoding gave up (%s)", path, err)
        return None


def _ranks(packets, time_base, info: VideoInfo) -> dict[int, int] | None:
    """pts -> presentation rank, when the packets number the frames exactly as OpenCV
    does: one distinct pts each, as many as the probe counted, at a constant rate."""
    pts = [p.pts for p in packets]
    if (len(pts) != info.frame_count or info.counted or any(p is None for p in pts)
            or len(set(pts)) != len(pts) or time_base is None):
        return None
    ordered = np.array(sorted(pts), np.float64)
    times = (ordered - ordered[0]) * float(Fraction(time_base))
    drift = times - np.arange(len(times)) / info.fps
    if np.max(np.abs(drift)) > 0.5 / info.fps:  # variable frame rate: OpenCV's reader decides
        return None
    return {int(p): r for r, p in enumerate(ordered.astype(np.int64))}


def _decode(ctx, packets, ranks: dict[int, int], ids, size, resize) -> Kept | None:
    wanted = sorted({int(i) for i in ids})
    wanted_set = set(wanted)
    position = {ranks[p.pts]: k for k, p in enumerate(packets)}  # display rank -> packet
    keys = [k for k, p in enumerate(packets) if p.is_keyframe]
    out: Kept = {}
    cur = 0  # the next packet to feed
    for target in wanted:
        if target in out:
            continue
        start = max((k for k in keys if k <= position[target]), default=0)
        if start > cur:  # a keyframe in between: restart the decoder there
            ctx.flush_buffers()
            cur = start
        while target not in out and cur < len(packets):
            packet = packets[cur]
            ctx.skip_frame = "DEFAULT" if ranks[packet.pts] in wanted_set else "NONREF"
            if not _take(ctx.decode(packet), ranks, wanted_set, size, resize, out):
                return None
            cur += 1
        if target not in out:  # the end: what the decoder still holds
            ctx.skip_frame = "DEFAULT"
            if not _take(ctx.decode(None), ranks, wanted_set, size, resize, out):
                return None
    return out if wanted_set <= set(out) else None


def _take(frames, ranks, wanted: set, size, resize, out: Kept) -> bool:
    """Keep the wanted ones of ``frames``; False on a rotated frame (OpenCV turns those
    upright, this reader would not)."""
    for frame in frames:
        if getattr(frame, "rotation", 0):
            return False
        rank = ranks.get(frame.pts)
        if rank in wanted and rank not in out:
            bgr = frame.to_ndarray(format="bgr24")
            if size is not None:
                bgr = resize(bgr, size)
            out[rank] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return True


class DecoderChoice:
    """Per kind of clip: OpenCV, the planned decoder, or still on trial (thread-safe)."""

    def __init__(self, trials: int = TRIALS):
        self.trials = trials
        self._cpu: dict[str, dict[str, list[float]]] = {}
        self._refused: set[str] = set()
        self._lock = threading.Lock()

    def method(self, kind: str) -> str:
        """``opencv``, ``planned`` or ``trial`` (decode both, then ``record``)."""
        forced = settings.decoder()
        if forced != "auto":
            return forced
        with self._lock:
            if kind in self._refused:
                return "opencv"
            cpu = self._cpu.get(kind, {"opencv": [], "planned": []})
            if len(cpu["planned"]) < self.trials:
                return "trial"
            return "planned" if np.median(cpu["planned"]) < np.median(cpu["opencv"]) \
                else "opencv"

    def record(self, kind: str, opencv_s: float, planned_s: float) -> None:
        """One trial's thread CPU seconds of each method (their frames were equal)."""
        with self._lock:
            cpu = self._cpu.setdefault(kind, {"opencv": [], "planned": []})
            cpu["opencv"].append(opencv_s)
            cpu["planned"].append(planned_s)

    def refuse(self, kind: str) -> None:
        """The planned decoder gave other frames for this kind: OpenCV from now on."""
        with self._lock:
            self._refused.add(kind)

    def summary(self) -> dict[str, dict]:
        """Per kind: the median CPU milliseconds of each method so far, or ``refused``."""
        with self._lock:
            out = {k: {m: round(1000 * float(np.median(v)), 1) for m, v in c.items() if v}
                   for k, c in self._cpu.items()}
            out.update({k: {"refused": True} for k in self._refused})
            return out


CHOICE = DecoderChoice()


def clip_kind(path: str | os.PathLike, info: VideoInfo) -> str:
    """What decides which reader is cheaper: the container and the codec."""
    return f"{os.path.splitext(str(path))[1].lower()}|{info.codec}"


def read(path, ids, size, info: VideoInfo, resize: Callable,
         opencv: Callable[[], Kept | None], choice: DecoderChoice = CHOICE) -> Kept | None:
    """The kept frames by the method this kind of clip uses, or None: let OpenCV's
    reader decode (its own checks: seeks that fail, variable rates, corrupt tails).

    Args:
        path, ids, size, info, resize: as for ``decode_planned``.
        opencv: OpenCV's reading of the same ids (None when its checks call for more),
            run on trial clips to time and compare.
        choice: the per-kind choice (the process's own by default).
    """
    kind = clip_kind(path, info)
    method = choice.method(kind)
    if method == "opencv":
        return None
    if method == "planned":
        return decode_planned(path, ids, size, info, resize)
    start = time.thread_time()
    planned = decode_planned(path, ids, size, info, resize)
    middle = time.thread_time()
    reference = opencv()
    end = time.thread_time()
    if reference is None or planned is None:  # a clip one of them leaves to the other
        return reference
    if not _same(planned, reference):
        log.info("%s: the planned decoder differs from OpenCV on %s clips; OpenCV decodes "
                 "them", path, kind)
        choice.refuse(kind)
    else:
        choice.record(kind, end - middle, middle - start)
    return reference


def _same(a: Kept, b: Kept) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
