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

from vidcore.errors import VideoReadError

if TYPE_CHECKING:
    from vidcore.data.sampling import Sampler

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
FALLBACK_FPS = 25.0  # used only when neither metadata nor timestamps give a frame rate
MAX_PLAUSIBLE_FPS = 1000.0
SEEK_GAP = 300  # frames; shorter gaps are cheaper to grab through than to seek across


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds, as far as decoding can tell.

    Attributes:
        path: the file.
        frame_count: number of frames (counted by decoding when the container lies).
        fps: frames per second (estimated when the container reports 0, NaN or absurd).
        width: frame width in pixels.
        height: frame height in pixels.
        codec: FourCC of the video stream, e.g. ``"FMP4"``.
        counted: True when ``frame_count`` or ``fps`` came from decoding, not metadata.
    """

    path: str
    frame_count: int
    fps: float
    width: int
    height: int
    codec: str
    counted: bool = False

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frame_count / self.fps if self.fps > 0 else 0.0

    def to_dict(self) -> dict:
        """Plain dict for JSON, duration included."""
        return {**self.__dict__, "duration": self.duration}


@dataclass(frozen=True)
class Frames:
    """Decoded frames of one video.

    Attributes:
        images: uint8 RGB array (T, H, W, 3).
        timestamps: seconds from the start, float64 (T,).
        frame_ids: 0-based frame numbers, int64 (T,).
        info: the probed video.
    """

    images: np.ndarray
    timestamps: np.ndarray
    frame_ids: np.ndarray
    info: VideoInfo

    def __len__(self) -> int:
        return len(self.frame_ids)


def _open(path: str | os.PathLike) -> cv2.VideoCapture:
    path = str(path)
    if not os.path.isfile(path):
        raise VideoReadError(path, "no such file")
    if os.path.getsize(path) == 0:
        raise VideoReadError(path, "the file is empty (0 bytes)")
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise VideoReadError(path, "not a video OpenCV can open (unsupported or corrupt container)")
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
    cap = _open(path)
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


def _keep(cap: cv2.VideoCapture, size) -> np.ndarray | None:
    """Convert the frame just grabbed to RGB (resized); None if it cannot be retrieved."""
    ok, bgr = cap.retrieve()
    if not ok or bgr is None:
        return None
    if size is not None:
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _decode_ids(
    cap: cv2.VideoCapture, wanted: np.ndarray, size: tuple[int, int] | None, seek: bool = True
) -> tuple[dict[int, np.ndarray], int]:
    """Decode the wanted frames, converting only those; return them and frames seen.

    Frames between two wanted ones are skipped with ``grab()``; a gap longer than
    ``SEEK_GAP`` is jumped with a seek instead (keyframe, then decode forward), which
    bounds the cost of a few frames from a very long video.
    """
    kept: dict[int, np.ndarray] = {}
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
            kept[target] = image
    return kept, index


def read_frames(
    path: str | os.PathLike,
    sampler: Sampler,
    size: tuple[int, int] | None = None,
    rng: np.random.Generator | None = None,
    info: VideoInfo | None = None,
) -> Frames:
    """Decode the frames a sampler picks, as RGB uint8.

    Frames the sampler does not want are skipped with ``grab()`` (no colour
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


def _decode_file(path, wanted, size, seek: bool):
    cap = _open(path)
    try:
        return _decode_ids(cap, wanted, size, seek)
    finally:
        cap.release()


def _read_positions(path, sampler, info, size, rng) -> Frames | None:
    positions = sampler.positions(info, rng)
    kept, seen = _decode_file(path, positions.frame_ids, size, seek=True)
    if not all(int(i) in kept for i in positions.frame_ids):  # seeking can fail: read in order
        kept, seen = _decode_file(path, positions.frame_ids, size, seek=False)
    if all(int(i) in kept for i in positions.frame_ids):
        return _assemble(kept, positions.frame_ids, positions.timestamps, info)
    if seen == 0 or seen >= info.frame_count:
        return None
    log.warning("%s: only %d of %d frames decode; sampling those", path, seen, info.frame_count)
    return _read_positions(path, sampler, replace(info, frame_count=seen, counted=True), size, rng)


def _assemble(kept: dict, frame_ids: np.ndarray, timestamps: np.ndarray, info) -> Frames:
    images = np.stack([kept[int(i)] for i in frame_ids])
    return Frames(images, np.asarray(timestamps, np.float64), np.asarray(frame_ids, np.int64), info)


def is_video_file(path: str | os.PathLike) -> bool:
    """True when the file name has a video extension vidcore reads."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS
