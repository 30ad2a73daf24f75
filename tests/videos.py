"""Tiny videos with known content, and placeholder files, for the tests.

Each writer draws something a test can read back from the decoded frames: a flat grey
whose brightness is the frame number (``write_video``), the frame number in binary
stripes (``write_vfr_video``), a white block in a known corner (``write_phone_clip``).
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest


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


def write_phone_clip(path, frames: int = 25) -> Path:
    """A phone-style MP4: 320x240 landscape pixels with a white block top-left, and a
    track matrix saying "display rotated 90 degrees clockwise" (as phones filming
    upright store it). OpenCV cannot write the matrix, so the ``tkhd`` box is patched."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (320, 240))
    assert writer.isOpened(), f"cannot write {path}"
    for _ in range(frames):
        image = np.zeros((240, 320, 3), np.uint8)
        image[:60, :80] = 255
        writer.write(image)
    writer.release()
    data = bytearray(path.read_bytes())
    box = data.index(b"tkhd")
    assert data[box + 4] == 0, "expected a version-0 tkhd box"
    # type, version+flags, 5 x 4-byte fields (times, track id, reserved, duration),
    # 8 reserved, layer/group/volume/reserved: then the 3x3 matrix (16.16, last 2.30).
    matrix = box + 4 + 4 + 20 + 8 + 8
    rotate_90 = (0, 0x10000, 0, -0x10000, 0, 0, 240 << 16, 0, 0x40000000)
    data[matrix:matrix + 36] = struct.pack(">9i", *rotate_90)
    path.write_bytes(bytes(data))
    return path


def patch_avi_rate(path, scale: int, rate: int) -> Path:
    """Rewrite the stream header frame rate of an AVI in place (to fake lying metadata)."""
    data = bytearray(Path(path).read_bytes())
    at = data.find(b"strh")
    data[at + 28 : at + 36] = struct.pack("<II", scale, rate)
    Path(path).write_bytes(bytes(data))
    return Path(path)


STRIPES = 8  # bits of the frame number drawn by ``write_vfr_video``


def stripes_frame(i: int, size=(64, 48)) -> np.ndarray:
    """An RGB frame showing ``i`` in binary as black/white vertical stripes."""
    width, height = size
    bits = [(i >> b) & 1 for b in range(STRIPES)]
    row = np.repeat(np.array(bits, np.uint8) * 255, width // STRIPES)
    return np.repeat(np.tile(row, (height, 1))[:, :, None], 3, axis=2)


def stripes_index(image: np.ndarray) -> int:
    """The frame number drawn by ``stripes_frame``, read from each stripe's centre."""
    width = image.shape[1] // STRIPES
    centres = [image[:, b * width + width // 4: (b + 1) * width - width // 4].mean()
               for b in range(STRIPES)]
    return sum(1 << b for b, value in enumerate(centres) if value > 127)


def write_vfr_video(path, times, size=(64, 48)) -> Path:
    """Encode MPEG-4 video whose frame i is shown at ``times[i]`` seconds (any spacing).

    OpenCV can only write constant-frame-rate clips; PyAV (test-only dependency) sets
    each frame's presentation timestamp, in milliseconds. Frame i shows
    ``stripes_frame(i)``, which survives lossy coding. ``.mp4`` and ``.mkv`` work.
    """
    av = pytest.importorskip("av")
    from fractions import Fraction

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=30)  # the nominal rate; the pts decide
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(stripes_frame(i, size), format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def touch(root: Path, rel: str, data: bytes = b"x") -> Path:
    """Create a placeholder file (index code never decodes)."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
