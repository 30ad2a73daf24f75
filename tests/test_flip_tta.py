"""Horizontal-flip test-time augmentation: features averaged with the mirror's, kept apart
in the feature store, carried from training to prediction."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vidcore import runs
from vidcore.cli import main
from vidcore.data.sampling import UniformSampler
from vidcore.features import FeatureSpec, backbone_runner, load_features
from vidcore.predict import load_model

# ImageNet weights: random ones give features of about 1e-12, numerical noise.
PLAIN = FeatureSpec("efficientnet_lite0", "imagenet", UniformSampler(2), precision="float32",
                    engine="keras")
FLIP = replace(PLAIN, flip=True)


def test_spec_round_trip_and_own_store_folder():
    assert "flip" not in PLAIN.to_dict() and FLIP.to_dict()["flip"] is True
    assert FeatureSpec.from_dict(FLIP.to_dict()) == FLIP
    assert FeatureSpec.from_dict(PLAIN.to_dict()) == PLAIN
    assert FLIP.folder_name() == PLAIN.folder_name() + "__flip"


def test_flip_runner_averages_frame_and_mirror():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
    plain, flip = backbone_runner(PLAIN), backbone_runner(FLIP)
    expected = (plain(frames) + plain(np.ascontiguousarray(frames[:, :, ::-1]))) / 2
    got = flip(frames)
    scale = np.abs(expected).max()
    assert np.abs(got - expected).max() <= 1e-4 * scale
    assert np.abs(got - plain(frames)).max() > 1e-2 * scale  # the mirror changed something
    symmetric = np.concatenate([frames[:, :, :112], frames[:, :, :112][:, :, ::-1]], axis=2)
    assert np.abs(flip(symmetric) - plain(symmetric)).max() <= 1e-3 * scale


def test_extraction_keeps_flip_apart(world, tmp_path):
    clip = next(world.dataset.rglob("*.avi"))
    [plain], _ = load_features([clip], PLAIN, tmp_path)
    [flip], _ = load_features([clip], FLIP, tmp_path)
    plain, flip = plain.features, flip.features
    assert plain.shape == flip.shape == (2, 1280)
    plain, flip = plain.astype(np.float32), flip.astype(np.float32)
    assert np.abs(plain - flip).max() > 1e-2 * np.abs(plain).max()
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == [PLAIN.folder_name(), FLIP.folder_name()]


def test_cli_train_flip_reaches_prediction(world, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("VIDCORE_RUNS", str(tmp_path / "runs"))
    run = tmp_path / "run"
    assert main(["train", str(world.dataset), "--weights", "none", "--frames", "2", "--flip",
                 "--epochs", "1", "--val-fraction", "0.34", "--run-dir", str(run),
                 "--store", str(tmp_path / "store")]) == 0
    assert runs.read_json(run / runs.CONFIG)["flip"] is True
    assert load_model(run).feature_spec.flip
    assert all(p.name.endswith("__flip") for p in (tmp_path / "store").iterdir() if p.is_dir())
    capsys.readouterr()
    clip = next(world.dataset.rglob("*.avi"))
    assert main(["predict", str(clip), "--model", str(run), "--json"]) == 0
