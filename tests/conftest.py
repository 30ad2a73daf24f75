"""Shared fixtures: tiny videos with known content and fake dataset trees."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np
import pylibsrtp  # noqa: F401 - before any test loads TensorFlow: after it, it segfaults
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


# ---------------------------------------------------------------- trained synthetic runs

SYNTHETIC_TRAINING = {  # head -> options: small and fast, still well above chance
    "frame_mlp": {"epochs": 8, "batch_size": 32},
    "temporal_conv": {"epochs": 15, "batch_size": 8, "width": 32},
    "linear": {},
}


@pytest.fixture
def fake_features(monkeypatch, tmp_path):
    """Route ``vidcore.features`` to synthetic features; runs go under tmp_path."""
    import synthetic

    synthetic.install(monkeypatch)
    monkeypatch.setenv("VIDCORE_RUNS", str(tmp_path / "runs"))
    return synthetic


@pytest.fixture(scope="session")
def synthetic_runs(tmp_path_factory):
    """One run per head trained on the synthetic CSV dataset (see tests/synthetic.py).

    Returns a namespace: ``csv`` (the manifest), ``data`` (its folder), ``runs``
    (head -> run directory), ``results`` (head -> TrainResult).
    """
    from types import SimpleNamespace

    import synthetic

    from vidcore.train import TrainConfig, train

    root = tmp_path_factory.mktemp("synthetic")
    csv_path = synthetic.make_dataset(root / "data")
    results = {}
    with pytest.MonkeyPatch.context() as mp:
        synthetic.install(mp)
        for head, options in SYNTHETIC_TRAINING.items():
            config = TrainConfig(dataset=str(csv_path), head=head, weights=None,
                                 val_fraction=0.3, patience=None, log_every=2, **options)
            results[head] = train(config, run_dir=root / "runs" / head)
    return SimpleNamespace(csv=csv_path, data=root / "data", results=results,
                           runs={h: Path(r.run_dir) for h, r in results.items()})


@pytest.fixture(scope="session")
def world():
    """The app tests' tiny world (tests/app_world.py), built once for the whole session."""
    from tests import app_world

    yield app_world.tiny_world()
    app_world.cleanup()


@pytest.fixture(autouse=True)
def _keep_main_module():
    """Put the real ``__main__`` back after each test.

    AppTest leaves the app script registered as ``sys.modules["__main__"]``; later
    tests whose multiprocessing "spawn" children re-import the main module (the demo
    generator's pool) would then run app.py in every child, and those children die.
    """
    import sys

    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
