"""Synthetic clip features for fast head, training, evaluation and prediction tests.

A CSV dataset of placeholder video files (never decoded) whose fake features are a
pure function of the file name, installed in place of ``vidcore.features``'
``load_features`` / ``video_features`` / ``backbone_runner`` (and of the probe that
``vidcore.predict`` runs before loading a model):

* static classes (``Clap``, ``Wave``): every frame near the class's own point;
* a time-reversed pair (``Up``, ``Down``): frames move along one direction, forward
  for ``Up``; a ``Down`` clip is exactly its ``Up`` twin played backwards, so both
  hold the same set of frames and no per-frame model can tell them apart.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from vidcore.data.video import VideoInfo
from vidcore.features import ExtractSummary, VideoFeatures

CLASSES = ("Clap", "Down", "Up", "Wave")
PAIR = ("Up", "Down")
DIM, FRAMES, GROUPS, CLIPS, TEST_GROUPS = 24, 8, 10, 2, (8, 9, 10)


def _rng(*keys) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("/".join(map(str, keys)).encode()))


def clip_features(class_name: str, group: int, clip: int) -> np.ndarray:
    """``(FRAMES, DIM)`` features of one synthetic clip."""
    if class_name == "Down":  # the exact time-reverse of its Up twin
        return clip_features("Up", group, clip)[::-1].copy()
    rng = _rng(class_name, group, clip)
    noise = rng.normal(0, 0.3, (FRAMES, DIM))
    if class_name == "Up":
        direction = _rng("direction").normal(0, 1, DIM)
        steps = np.linspace(-1.5, 1.5, FRAMES)[:, None]
        return (steps * direction / np.linalg.norm(direction) * 2 + noise).astype(np.float16)
    centre = _rng("centre", class_name).normal(0, 1, DIM)
    return (centre + noise).astype(np.float16)


def _parse(path) -> tuple[str, int, int]:
    _, name, group, clip = Path(path).stem.split("_")
    return name, int(group[1:]), int(clip[1:])


def make_dataset(root: Path) -> Path:
    """Write placeholder videos and ``manifest.csv`` (explicit split); return the CSV."""
    rows = ["path,label,group,split"]
    for name in CLASSES:
        for g in range(1, GROUPS + 1):
            for c in range(1, CLIPS + 1):
                rel = f"{name}/v_{name}_g{g:02d}_c{c:02d}.avi"
                (root / name).mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(b"placeholder")
                split = "test" if g in TEST_GROUPS else "train"
                rows.append(f"{rel},{name},g{g:02d},{split}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root / "manifest.csv"


def features_of(path) -> VideoFeatures:
    """The fake features of a placeholder video."""
    feats = clip_features(*_parse(path))
    times = np.arange(len(feats)) * 0.25
    return VideoFeatures(feats, times, np.arange(len(feats)) * 6)


def fake_load_features(paths, spec, store_dir=None, progress=None, should_stop=None, **_):
    """Stands in for ``vidcore.features.load_features``."""
    out = [features_of(p) for p in paths]
    if progress:
        progress({"stage": "extract", "done": len(paths), "total": len(paths),
                  "frames": 0, "frames_per_second": 0.0, "eta_seconds": 0.0})
    return out, ExtractSummary(videos=len(paths), cached=len(paths))


def fake_video_features(path, spec, model=None, info=None):
    """Stands in for ``vidcore.features.video_features``."""
    feats = features_of(path)
    return SimpleNamespace(info=SimpleNamespace(duration=2.0), uncapped=None), feats


def fake_probe(path) -> VideoInfo:
    """Stands in for ``vidcore.data.video.probe`` where predict checks a placeholder."""
    return VideoInfo(str(path), FRAMES * 6, 24.0, 64, 48, "fake")


def install(monkeypatch) -> None:
    """Route ``vidcore.features`` (and predict's probe) to the fakes."""
    import vidcore.features as features
    import vidcore.predict as predict

    monkeypatch.setattr(features, "load_features", fake_load_features)
    monkeypatch.setattr(features, "video_features", fake_video_features)
    monkeypatch.setattr(features, "backbone_runner", lambda spec, model=None: None)
    monkeypatch.setattr(predict, "probe", fake_probe)
