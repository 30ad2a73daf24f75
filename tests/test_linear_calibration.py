"""The linear head's temperatures come from the head fitted without the validation clips
(issue 23): the saved head is refitted on them too, and would find them too easy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vidcore import runs, train
from vidcore.calibration import fit_temperature
from vidcore.models.linear import LinearHead

CLASSES, D, T = ["a", "b", "c"], 8, 4


def noisy_clips(n: int, rng) -> tuple[list[np.ndarray], np.ndarray]:
    """Clips whose features carry their class, under noise that makes some wrong."""
    y = np.arange(n) % len(CLASSES)
    centres = np.eye(len(CLASSES), D) * 1.2
    xs = [(centres[label] + rng.normal(0, 1.0, (T, D))).astype(np.float16) for label in y]
    return xs, y


@pytest.fixture
def fitted(tmp_path):
    rng = np.random.default_rng(3)
    train_x, train_y = noisy_clips(30, rng)
    val_x, val_y = noisy_clips(24, rng)
    data = train.TrainData(CLASSES, train_x, train_y, val_x, val_y)
    config = train.TrainConfig(dataset="unused", head="linear")
    runs.write_json(tmp_path / runs.CONFIG, config.to_dict())
    runs.write_json(tmp_path / runs.CLASSES, CLASSES)
    monitor = train.Monitor(tmp_path)
    fit = train._fit_linear(config, data, tmp_path, monitor)
    train._fit_trust(tmp_path, data, monitor, fit["held_out_head"])
    return config, data, tmp_path


def test_the_temperature_is_the_held_out_heads(fitted):
    config, data, run_dir = fitted
    held_out = train._linear_head(config, data.train_x, data.train_y, len(CLASSES))
    refit = LinearHead.load(run_dir / runs.LINEAR_MODEL)
    val = train._pool(config, data.val_x)
    expected = fit_temperature(data.val_y, probs=held_out.predict_proba(val))
    seen = fit_temperature(data.val_y, probs=refit.predict_proba(val))
    stored = json.loads((run_dir / "calibration.json").read_text())
    assert stored["aggregators"]["linear"]["temperature"] == pytest.approx(expected, rel=1e-4)
    assert seen < expected - 0.1  # the refitted head finds its own clips too easy
