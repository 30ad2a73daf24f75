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
