"""Generated clips for the tests: demo stick-figure actions written as video files.

The demo renderer makes classes a model can actually separate. ``demo_clip`` writes
them small (160x120, MJPG AVI or mp4v MP4) so uploading and decoding them stays quick;
``action`` strings clips of one action together for a long recording at full size.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np

from vidcore.data.demo import FPS, render_clip

SIZE = (160, 120)
FOURCC = {".avi": "MJPG", ".mp4": "mp4v"}


def write_clip(path, frames: np.ndarray, fps: float = FPS, size: tuple[int, int] | None = SIZE,
               fourcc: str | None = None) -> Path:
    """Write RGB frames as a video, resized to ``size`` (None: as they are).

    The codec is ``fourcc`` or, by the file's extension, MJPG for ``.avi`` (nearly
    lossless, so decoded frames stay stable) and mp4v otherwise.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = size or (frames.shape[2], frames.shape[1])
    fourcc = fourcc or FOURCC.get(path.suffix, "mp4v")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"cannot write {path}"
    for frame in frames:
        if frame.shape[1::-1] != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def demo_clip(path, class_name: str, group: int, clip: int = 1, repeat: int = 1) -> Path:
    """A tiny-size demo clip (2 s) of one class; ``repeat`` plays it that many times
    (a long recording to cut)."""
    frames = render_clip(class_name, group, clip, size="tiny")
    return write_clip(path, np.concatenate([frames] * repeat))


def demo_clips(root, classes=("JumpingJack", "Kick"), groups=(1, 2, 3)) -> dict:
    """``{(class, group): path}``: one tiny demo clip per class and recording under ``root``."""
    return {(c, g): demo_clip(Path(root) / f"{c}{g}.avi", c, g) for c in classes for g in groups}


def action(name: str, seconds: float, group: int = 3) -> np.ndarray:
    """``seconds`` of one demo action at the demo's size and rate: clips of one group
    (one scene) back to back."""
    need = round(seconds * FPS)
    clips, have, clip = [], 0, 1
    while have < need:
        clips.append(render_clip(name, group, clip))
        have += len(clips[-1])
        clip += 1
    return np.concatenate(clips)[:need]


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip in memory from ``{name: content}``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()
