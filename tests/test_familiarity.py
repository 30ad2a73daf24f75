"""The familiarity score (k-th nearest training clip), its threshold, and what training adds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidcore.errors import RunError
from vidcore.familiarity import (
    Familiarity,
    clip_embedding,
    fit_familiarity,
    knn_distance,
)

E1, E2 = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])


def test_knn_distance_by_hand():
    bank = np.stack([E1, E2])
    assert knn_distance(bank, E1, k=1) == pytest.approx([0.0])
    assert knn_distance(bank, E1, k=2) == pytest.approx([1.0])  # orthogonal: cosine 0
    halfway = (E1 + E2) / math.sqrt(2)
    assert knn_distance(bank, halfway, k=1) == pytest.approx([1 - 1 / math.sqrt(2)])
    assert knn_distance(bank, -E1, k=1) == pytest.approx([1.0])  # nearest is E2, cosine 0
    assert knn_distance(bank, E1, k=9) == pytest.approx([1.0])  # k capped at the bank


def test_a_clip_is_its_normalised_mean_frame():
    frames = np.array([[3.0, 0.0], [1.0, 0.0], [2.0, 4.0]])  # mean (2, 4/3)
    assert clip_embedding(frames) == pytest.approx(np.array([2, 4 / 3]) / math.hypot(2, 4 / 3))


def test_the_threshold_is_the_validation_quantile():
    train = [np.array([E1]), np.array([E2])]
    # validation distances to the nearest of E1/E2: 0, 1 - cos(30 deg), 1 - cos(45 deg)
    angles = [0, math.pi / 6, math.pi / 4]
    val = [np.array([[math.cos(a), math.sin(a), 0.0]]) for a in angles]
    fam = fit_familiarity(train, val, k=1, quantile=0.5)
    assert fam.threshold == pytest.approx(1 - math.cos(math.pi / 6), abs=1e-3)  # the median
    assert fam.check(np.array([[1.0, 0.02, 0.0]]))["unfamiliar"] is False
    far = fam.check(np.array([[0.0, 0.0, 1.0]]))
    assert far["unfamiliar"] is True and far["unfamiliar_score"] == pytest.approx(1.0, abs=1e-3)


def test_save_and_load(tmp_path):
    fam = fit_familiarity([np.array([E1]), np.array([E2])], [np.array([E1])], k=1)
    fam.save(tmp_path)
    back = Familiarity.load(tmp_path)
    assert (back.k, back.quantile, back.threshold) == (1, fam.quantile, fam.threshold)
    assert back.bank.shape == (2, 3)
    with np.load(tmp_path / "familiarity.npz") as data:
        assert data["bank"].dtype == np.float16  # half the disk
    assert Familiarity.load(tmp_path / "elsewhere") is None
    (tmp_path / "familiarity.npz").write_bytes(b"torn")
    with pytest.raises(RunError, match="damaged"):
        Familiarity.load(tmp_path)


def test_the_bank_is_capped(monkeypatch):
    import vidcore.familiarity as familiarity

    monkeypatch.setattr(familiarity, "MAX_BANK", 5)
    clips = [np.random.default_rng(i).normal(size=(2, 4)) for i in range(12)]
    assert len(fit_familiarity(clips, clips[:2]).bank) == 5


def test_training_adds_calibration_and_familiarity_to_a_run(fake_features, tmp_path):
    from vidcore.calibration import load_calibration
    from vidcore.train import TrainConfig, load_train_data, train
    from vidcore.trust import Trust, fit_trust

    csv_path = fake_features.make_dataset(tmp_path / "data")
    config = TrainConfig(dataset=str(csv_path), head="linear", weights=None, val_fraction=0.3)
    run = train(config, run_dir=tmp_path / "run").run_dir
    data = load_train_data(config)
    summary = fit_trust(run, data.train_x, data.val_x, data.val_y)
    calibration = load_calibration(run)
    assert set(calibration["aggregators"]) == {"linear", "mean"}  # the vote has no temperature
    assert calibration["clips"] == len(data.val_y)
    assert summary["familiarity"]["clips"] == len(data.train_x)
    trust = Trust.load(run)
    own = fake_features.clip_features("Clap", 9, 1)  # a test clip of a known class
    # pointing away from the training clips on average: farther than any validation clip
    stranger = np.tile(-trust.familiarity.bank.astype(np.float32).mean(0), (8, 1))
    assert trust.check(own)["unfamiliar"] is False
    assert trust.check(stranger)["unfamiliar"] is True
    t = calibration["aggregators"]["linear"]["temperature"]
    scores = np.array([0.7, 0.1, 0.1, 0.1])
    shown = trust.confidence("linear", scores, 0)
    assert (shown < 0.7) == (t > 1) and trust.confidence("mode", scores, 0) == 0.7
    assert Trust.load(tmp_path / "data").check(own) is None  # no files: no verdict
