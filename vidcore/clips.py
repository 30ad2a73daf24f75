"""Write frames (from a camera, a stream) as a video file the rest of vidcore can read."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vidcore.atomic import replace_via_temp
from vidcore.errors import InputError, VidcoreError

MIN_FPS, MAX_FPS = 1.0, 60.0  # a rate measured from camera times is clamped to this


def clip_rate(times: Sequence[float]) -> float:
    """Frames per second of frames taken at ``times`` (seconds, increasing), clamped."""
    if len(times) < 2 or times[-1] <= times[0]:
        return 25.0
    fps = (len(times) - 1) / (times[-1] - times[0])
    return float(min(MAX_FPS, max(MIN_FPS, fps)))


def write_clip(frames: Sequence[tuple[float, np.ndarray]], out_dir: str | os.PathLike,
               name: str | None = None) -> Path:
    """Write timed RGB frames as an XviD AVI (the demo dataset's format), atomically.

    The frame rate is the frames' own mean rate, so the clip lasts as long as it was
    seen. Frames of another size than the first are resized to it.

    Args:
        frames: (time in seconds, uint8 RGB (H, W, 3)) pairs, oldest first.
        out_dir: folder to write into (created if missing).
        name: file name (default ``live-<UTC time>.avi``); must end in ``.avi``.

    Returns:
        The path of the written clip.

    Raises:
        InputError: no frames, or a name that is not a plain ``.avi`` file name.
        VidcoreError: OpenCV cannot encode XviD here.
    """
    if not frames:
        raise InputError("there are no frames to write yet; start the camera first")
    name = name or time.strftime("live-%Y%m%d-%H%M%S.avi", time.gmtime())
    if Path(name).name != name or not name.endswith(".avi"):
        raise InputError(f"clip name {name!r} must be a plain file name ending in .avi")
    path = Path(out_dir) / name
    h, w = frames[0][1].shape[:2]
    fps = clip_rate([t for t, _ in frames])

    def encode(tmp: Path) -> None:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"XVID"), fps, (w, h))
        if not writer.isOpened():
            raise VidcoreError(f"OpenCV cannot write XviD AVI files ({tmp}); it needs FFmpeg")
        try:
            for _, rgb in frames:
                if rgb.shape[:2] != (h, w):
                    rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
                writer.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        finally:
            writer.release()

    replace_via_temp(path, encode)
    return path
