"""Probe and decode videos with OpenCV: metadata you can trust, RGB frames you asked for."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vidcore import settings
from vidcore.data import planned_decode
from vidcore.data.info import VideoInfo
from vidcore.errors import VideoReadError

if TYPE_CHECKING:
    from vidcore.data.sampling import Sampler

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
FALLBACK_FPS = 25.0  # used only when neither metadata nor timestamps give a frame rate
MAX_PLAUSIBLE_FPS = 1000.0
SEEK_GAP = 300  # frames; shorter gaps are cheaper to grab through than to seek across
# FFmpeg threads per opened file. vidcore decodes files in parallel itself (extract's
# worker threads) and keeps a few frames of each, so FFmpeg's own thread pool, started
# for every file, cost more than it gained: one thread took demo-clip decoding from
# 580 to 820 frames/s on one worker and from 900 to 1,400 on two; a lone 1080p clip
# decodes about 10% slower (docs/benchmarks.md). None: OpenCV's default.
DECODE_THREADS: int | None = 1


@dataclass(frozen=True)
class Frames:
    """Decoded frames of one video.

    Attributes:
        images: uint8 RGB array (T, H, W, 3).
        timestamps: seconds from the start, float64 (T,); the frames' own timestamps
            when the clip's frame rate varies.
        frame_ids: 0-based frame numbers, int64 (T,).
        info: the probed video (frame count and mean rate from decoding when the
            frame rate varies).
        uncapped: frames the sampler would have taken without its ``max_frames``
            cap, when the cap cut them; None when no cap applied.
    """

    images: np.ndarray
    timestamps: np.ndarray
    frame_ids: np.ndarray
    info: VideoInfo
    uncapped: int | None = None

    def __len__(self) -> int:
        return len(self.frame_ids)


def quiet_native_logs() -> None:
    """Keep FFmpeg's and OpenCV's native log lines off stderr (``VIDCORE_DEBUG`` keeps
    them); ``open_capture`` calls it before each open, so importing vidcore changes
    nothing in a process until vidcore opens a video.

    OpenCV's FFmpeg backend prints lines such as ``[mov,mp4,...] moov atom not found``
    for every damaged file it opens, and OpenCV its own backend warnings, straight from
    C code, before vidcore can say in one line what is wrong: the CLI, the app and a
    library caller alike get vidcore's line only. A level the user set wins
    (``OPENCV_FFMPEG_LOGLEVEL``, read when FFmpeg opens a file; ``OPENCV_LOG_LEVEL``,
    read when cv2 is imported, so its runtime setter is used instead).
    """
    if settings.debug():
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    if "OPENCV_LOG_LEVEL" not in os.environ:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def open_capture(path: str | os.PathLike) -> cv2.VideoCapture:
    """Open a video with OpenCV's FFmpeg backend, or raise ``VideoReadError`` saying why.

    FFmpeg only: with ``CAP_ANY`` OpenCV falls back on its own MJPEG-AVI reader for a
    file FFmpeg refused, and that reader prints parse errors to stderr unconditionally.
    FFmpeg reads everything vidcore accepts, still images named ``.mp4`` included.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise VideoReadError(path, "no such file")
    if os.path.getsize(path) == 0:
        raise VideoReadError(path, "the file is empty (0 bytes)")
    if not os.access(path, os.R_OK):  # else OpenCV would call it "not a video"
        raise VideoReadError(path, "permission denied: this user may not read the file")
    quiet_native_logs()
    threads = [cv2.CAP_PROP_N_THREADS, DECODE_THREADS] if DECODE_THREADS else []
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, threads)
    if threads and not cap.isOpened():
        cap.release()
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)  # a build without the thread option
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(path, "not a video vidcore can read (an unsupported format or a "
                                    "damaged file); convert it to MP4 (H.264) and try again")
    return cap


def _fourcc(cap: cv2.VideoCapture) -> str:
    code = int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    text = code.to_bytes(4, "little").decode("ascii", errors="replace")
    return text.strip("\x00 ") or "unknown"


def _plausible_fps(fps: float) -> bool:
    return math.isfinite(fps) and 0 < fps <= MAX_PLAUSIBLE_FPS


def _count_by_decoding(cap: cv2.VideoCapture) -> tuple[int, float | None]:
    """Grab every frame; return the count and an fps estimated from timestamps."""
    count, first_ms, last_ms = 0, None, None
    while cap.grab():
        ms = cap.get(cv2.CAP_PROP_POS_MSEC)
        first_ms = ms if first_ms is None else first_ms
        last_ms = ms
        count += 1
    fps = None
    if count > 1 and last_ms is not None and last_ms > first_ms:
        fps = (count - 1) * 1000.0 / (last_ms - first_ms)
    return count, fps if fps and _plausible_fps(fps) else None


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's metadata, decoding to count frames when the container lies.

    Args:
        path: video file.

    Returns:
        The video's ``VideoInfo``.

    Raises:
        VideoReadError: the file is missing, empty, not a video, or has no frame.
    """
    cap = open_capture(path)
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        codec = _fourcc(cap)
        counted = False
        if count <= 0 or not _plausible_fps(fps):
            counted_n, est_fps = _count_by_decoding(cap)
            if not _plausible_fps(fps):
                fps = est_fps or FALLBACK_FPS
                log.warning("%s reports no usable frame rate; using %.3f fps", path, fps)
            count, counted = counted_n, True
    finally:
        cap.release()
    if count <= 0 or width <= 0 or height <= 0:
        raise VideoReadError(path, "no decodable video frame (audio-only, image or corrupt file?)")
    return VideoInfo(str(path), count, fps, width, height, codec, counted)


def resize_frame(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size`` (width, height) for a backbone.

    Area averaging where a side shrinks more than 2x (bilinear would skip pixels and
    alias); bilinear otherwise, where it reads every pixel anyway: at 320x240 -> 224
    area averaging cost 0.6 ms a frame here, bilinear a tenth of that
    (docs/benchmarks.md).
    """
    h, w = image.shape[:2]
    if (w, h) == tuple(size):
        return image
    shrink = max(w / size[0], h / size[1])
    method = cv2.INTER_AREA if shrink > 2 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=method)


def _keep(cap: cv2.VideoCapture, size) -> np.ndarray | None:
    """Convert the frame just grabbed to RGB (resized); None if it cannot be retrieved."""
    ok, bgr = cap.retrieve()
    if not ok or bgr is None:
        return None
    if size is not None:
        bgr = resize_frame(bgr, size)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@dataclass
class _Decoded:
    """What one decoding pass kept: RGB frames and their container timestamps by id."""

    images: dict[int, np.ndarray]
    times: dict[int, float]
    seen: int = 0  # frames grabbed before the pass ended

    def has(self, ids) -> bool:
        """Whether every id in ``ids`` was decoded."""
        return all(int(i) in self.images for i in ids)


def _decode_ids(
    cap: cv2.VideoCapture, wanted: np.ndarray, size: tuple[int, int] | None, seek: bool = True
) -> _Decoded:
    """Decode the wanted frames, converting only those; note each one's timestamp.

    Frames between two wanted ones are skipped with ``grab()``; a gap longer than
    ``SEEK_GAP`` is jumped with a seek instead (keyframe, then decode forward), which
    bounds the cost of a few frames from a very long video.
    """
    out = _Decoded({}, {})
    index = 0  # the frame the next grab() returns
    for target in sorted({int(i) for i in wanted}):
        if seek and target - index > SEEK_GAP and cap.set(cv2.CAP_PROP_POS_FRAMES, target):
            index = target
        while index < target and cap.grab():
            index += 1
        if index != target or not cap.grab():
            break  # the file ends (or is corrupt) before this frame
        index += 1
        image = _keep(cap, size)
        if image is not None:
            out.images[target] = image
            out.times[target] = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
    out.seen = index
    return out


def read_frames(
    path: str | os.PathLike,
    sampler: Sampler,
    size: tuple[int, int] | None = None,
    rng: np.random.Generator | None = None,
    info: VideoInfo | None = None,
) -> Frames:
    """Decode the frames a sampler picks, as RGB uint8.

    Frames the sampler does not want are skipped: by ``vidcore.data.planned_decode``
    (keyframe restarts, non-reference frames not decoded) for kinds of clips where it
    was measured cheaper and found identical, else with OpenCV's ``grab()`` (no colour
    conversion). A file whose tail is corrupt returns what decoded, resampled over
    the frames that really exist, with a warning.

    Args:
        path: video file.
        sampler: decides which frames (see ``vidcore.data.sampling``).
        size: optional ``(width, height)`` to resize each kept frame to.
        rng: random generator for samplers that draw (training-time jitter).
        info: a ``probe`` result to reuse; probed when omitted.

    Returns:
        ``Frames`` in the sampler's order (ids may repeat for very short clips).

    Raises:
        VideoReadError: the file cannot be opened or no wanted frame decodes.
    """
    info = info or probe(path)
    frames = _read_positions(path, sampler, info, size, rng)
    if frames is None:  # the container promised more frames than exist
        raise VideoReadError(path, "no frame could be decoded")
    return frames


def _decode_file(path, wanted, size, seek: bool) -> _Decoded:
    cap = open_capture(path)
    try:
        return _decode_ids(cap, wanted, size, seek)
    finally:
        cap.release()


def _read_positions(path, sampler, info, size, rng) -> Frames | None:
    positions = sampler.positions(info, rng)
    ids = positions.frame_ids
    kept = planned_decode.read(path, ids, size, info, resize_frame,
                               lambda: _opencv_kept(path, ids, size, info))
    if kept is not None:
        return _assemble(kept, positions, info)
    decoded = _decode_file(path, positions.frame_ids, size, seek=True)
    if not decoded.has(positions.frame_ids):  # seeking can fail: read in order
        decoded = _decode_file(path, positions.frame_ids, size, seek=False)
    if _times_disagree(decoded.times, info):  # variable frame rate: i / fps is not frame i's time
        frames = _read_by_time(path, sampler, info, size, rng)
        if frames is not None:
            return frames
    if decoded.has(positions.frame_ids):
        return _assemble(decoded.images, positions, info)
    seen = decoded.seen
    if seen == 0 or seen >= info.frame_count:
        return None
    log.warning("%s: only %d of %d frames decode; sampling those", path, seen, info.frame_count)
    return _read_positions(path, sampler, replace(info, frame_count=seen, counted=True), size, rng)


def _opencv_kept(path, ids, size, info: VideoInfo) -> dict | None:
    """OpenCV's frames for ``ids`` when its simple pass suffices (every id decoded at a
    constant rate); None when ``_read_positions`` must look further."""
    decoded = _decode_file(path, ids, size, seek=True)
    if not decoded.has(ids) or _times_disagree(decoded.times, info):
        return None
    return decoded.images


def _usable_times(times: np.ndarray) -> bool:
    """Whether container timestamps can be trusted: increasing, at a plausible mean rate."""
    if len(times) < 2 or not np.all(np.diff(times) > 0):
        return False  # missing (all 0) or broken timestamps: trust the frame rate instead
    return _plausible_fps((len(times) - 1) / (times[-1] - times[0]))


def _times_disagree(times: dict[int, float], info: VideoInfo) -> bool:
    """Whether the decoded frames' timestamps differ from ``id / fps`` by half a frame.

    They agree on a constant-frame-rate clip; they differ on a variable-frame-rate
    one (and when a seek landed on the wrong frame).
    """
    ids = np.array(sorted(times), np.int64)
    measured = np.array([times[i] for i in ids], np.float64)
    if not _usable_times(measured):
        return False
    nominal = ids / info.fps
    drift = (measured - measured[0]) - (nominal - nominal[0])  # a start offset is no drift
    return bool(np.max(np.abs(drift)) > 0.5 / info.fps + 1e-3)


def _frame_times(path) -> np.ndarray | None:
    """Every frame's timestamp in seconds (the first at 0), or None if they are unusable."""
    cap = open_capture(path)
    try:
        stamps = []
        while cap.grab():
            stamps.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    finally:
        cap.release()
    times = np.array(stamps, np.float64)
    return times - times[0] if _usable_times(times) else None


def _read_by_time(path, sampler, info, size, rng) -> Frames | None:
    """Sample a variable-frame-rate clip by its frames' own timestamps.

    One pass reads every timestamp, a second decodes the picked frames in order
    (frame seeks assume a constant rate). None when the timestamps are unusable.
    """
    times = _frame_times(path)
    if times is None:
        return None
    log.info("%s: the frame rate varies; sampling by the frames' timestamps", path)
    interval = float(np.median(np.diff(times)))
    info = replace(info, frame_count=len(times), fps=len(times) / (times[-1] + interval),
                   counted=True)
    by_time = getattr(sampler, "positions_from_times", None)
    if by_time is not None:
        positions = by_time(times)
    else:  # index-based samplers keep their frames; only the times are corrected
        positions = sampler.positions(info, rng)
        positions = replace(positions, timestamps=times[positions.frame_ids])
    decoded = _decode_file(path, positions.frame_ids, size, seek=False)
    if not decoded.has(positions.frame_ids):
        return None
    return _assemble(decoded.images, positions, info)


def _assemble(kept: dict, positions, info: VideoInfo) -> Frames:
    images = np.stack([kept[int(i)] for i in positions.frame_ids])
    return Frames(images, np.asarray(positions.timestamps, np.float64),
                  np.asarray(positions.frame_ids, np.int64), info, positions.uncapped)


def is_video_file(path: str | os.PathLike) -> bool:
    """True when the file name has a video extension vidcore reads."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS
