"""Generated clips for the workspace tests: demo stick-figure actions written as files.

The demo renderer makes classes a model can actually separate; clips are written
small (160x120, MJPG AVI or mp4v MP4) so uploading and decoding them stays quick.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np

from vidcore.data.demo import render_clip

SIZE = (160, 120)


def write_clip(path, frames: np.ndarray, fps: float = 25.0) -> Path:
    """Write RGB frames as a small video (MJPG in .avi, mp4v otherwise)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = "MJPG" if path.suffix == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, SIZE)
    assert writer.isOpened(), f"cannot write {path}"
    for frame in frames:
        writer.write(cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), SIZE,
                                interpolation=cv2.INTER_AREA))
    writer.release()
    return path


def demo_clip(path, class_name: str, group: int, clip: int = 1, repeat: int = 1) -> Path:
    """A tiny-size demo clip (2 s) of one class; ``repeat`` plays it that many times
    (a long recording to cut)."""
    frames = render_clip(class_name, group, clip, size="tiny")
    return write_clip(path, np.concatenate([frames] * repeat))


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip in memory from ``{name: content}``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()
