"""Shared fixtures: tiny videos with known content and fake dataset trees."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def frame_value(i: int) -> int:
    """Brightness of frame ``i`` written by ``write_video`` (survives lossy coding)."""
    return 8 + (i % WRAP) * 4


WRAP = 60  # brightness repeats every 60 frames; compare ids modulo WRAP beyond that


def write_video(path, frames: int, fps: float = 25.0, size=(64, 48), fourcc="MJPG") -> Path:
    """Write a video whose frame i is a flat grey of ``frame_value(i)``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"cannot write {path}"
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), frame_value(i), np.uint8))
    writer.release()
    return path


def decoded_index(image: np.ndarray) -> int:
    """Recover the frame number written by ``write_video`` from a decoded frame."""
    return int(round((float(image.mean()) - 8) / 4))


def patch_avi_rate(path, scale: int, rate: int) -> Path:
    """Rewrite the stream header frame rate of an AVI in place (to fake lying metadata)."""
    data = bytearray(Path(path).read_bytes())
    at = data.find(b"strh")
    data[at + 28 : at + 36] = struct.pack("<II", scale, rate)
    Path(path).write_bytes(bytes(data))
    return Path(path)


@pytest.fixture
def make_video(tmp_path):
    """Factory: ``make_video(name, frames, fps=25.0, ...)`` writes under tmp_path."""

    def make(name="clip.avi", frames=50, **kwargs):
        return write_video(tmp_path / name, frames, **kwargs)

    return make


def touch(root: Path, rel: str, data: bytes = b"x") -> Path:
    """Create a placeholder file (index code never decodes)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
