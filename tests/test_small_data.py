"""Training on small, imbalanced, partly untested datasets (issue 26), on synthetic features.

Clip features are a pure function of the file name (see ``install``): a class is a
point in feature space, each clip that point plus its own offset and per-frame noise;
``Small`` sits near ``BigA``, so without class balance a head leans to ``BigA``.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.videos import touch
from vidcore import runs
from vidcore.evaluate import evaluate
from vidcore.features import ExtractSummary, VideoFeatures
from vidcore.models.loading import load_model
from vidcore.train import TrainConfig, train

DIM, FRAMES = 16, 8


def _rng(*keys):
    return np.random.default_rng(zlib.crc32("/".join(map(str, keys)).encode()))


def centre(name: str) -> np.ndarray:
    if name == "Small":  # close to BigA: the case a head without class balance gets wrong
        return centre("BigA") + 1.4 * 3 / np.sqrt(DIM) * _rng("offset").normal(0, 1, DIM)
    return _rng("centre", name).normal(0, 1, DIM)


def clip_features(path) -> VideoFeatures:
    name = Path(path).parent.name
    rng = _rng(Path(path).name)
    feats = centre(name) + rng.normal(0, 1, DIM) + rng.normal(0, 0.3, (FRAMES, DIM))
    return VideoFeatures(feats.astype(np.float16), np.arange(FRAMES) * 0.25,
                         np.arange(FRAMES) * 6)


def fake_load_features(paths, spec, store_dir=None, progress=None, should_stop=None, **_):
    return [clip_features(p) for p in paths], ExtractSummary(videos=len(paths),
                                                             cached=len(paths))


@pytest.fixture
def features(monkeypatch, tmp_path):
    import vidcore.features

    monkeypatch.setattr(vidcore.features, "load_features", fake_load_features)
    monkeypatch.setenv("VIDCORE_RUNS", str(tmp_path / "runs"))


def manifest(root: Path, plan: dict[str, tuple[int, int, int]], split: bool = True) -> Path:
    """class -> (train recordings, test recordings, clips a recording); a CSV dataset."""
    lines = ["path,label,group" + (",split" if split else "")]
    for name, (n_train, n_test, clips) in plan.items():
        for g in range(1, n_train + n_test + 1):
            for c in range(1, clips + 1):
                rel = f"{name}/v_{name}_g{g:02d}_c{c:02d}.avi"
                touch(root, rel)
                side = "train" if g <= n_train else "test"
                lines.append(f"{rel},{name},g{g:02d}" + (f",{side}" if split else ""))
    (root / "m.csv").write_text("\n".join(lines) + "\n")
    return root / "m.csv"


def config(dataset, **values) -> TrainConfig:
    return TrainConfig(dataset=str(dataset), weights=None, **values)


def test_official_lists_with_an_untested_class_train_warn_and_evaluate_the_rest(
        features, tmp_path, capsys):
    from vidcore.cli import main

    csv = manifest(tmp_path / "d", {"BigA": (6, 2, 2), "BigB": (6, 2, 2), "Knitting": (3, 0, 2)})
    assert main(["train", str(csv), "--preset", "linear", "--weights", "none",
                 "--run-dir", str(tmp_path / "run"), "--evaluate"]) == 0
    note = "Knitting: no test clips, its accuracy is not measured"
    assert note in capsys.readouterr().err
    status = runs.read_json(tmp_path / "run" / runs.STATUS)
    assert status["state"] == "finished" and status["split_notes"][0].startswith(note)
    report = json.loads((tmp_path / "run" / runs.REPORT).read_text())
    assert report["split_notes"][0].startswith(note)
    per_class = report["aggregators"]["linear"]["per_class"]
    assert per_class["Knitting"] is None and per_class["BigA"] is not None
    assert report["num_videos"] == 8  # 2 test recordings of 2 clips, 2 tested classes


def test_a_generated_split_of_two_and_three_recording_classes_tests_every_class(
        features, tmp_path):
    csv = manifest(tmp_path / "d", {"BigA": (2, 0, 3), "BigB": (3, 0, 2), "Small": (3, 0, 1)},
                   split=False)
    result = train(config(csv, head="linear"))
    assert result.state == "finished" and result.split_notes == []
    report = evaluate(result.run_dir)
    assert all(v is not None for v in report.aggregators["linear"].per_class.values())


def imbalanced(root: Path) -> Path:
    return manifest(root, {"BigA": (20, 10, 3), "BigB": (20, 10, 3), "Small": (3, 10, 3)})


def test_a_class_of_three_clips_among_classes_of_sixty_is_learned(features, tmp_path):
    csv = imbalanced(tmp_path / "d")
    recall = {}
    for balance in (True, False):
        result = train(config(csv, head="linear", balance=balance),
                       run_dir=tmp_path / f"{balance}")
        recall[balance] = evaluate(result.run_dir).aggregators["linear"].per_class
    assert recall[True]["Small"] >= 0.7, recall
    assert recall[True]["Small"] > recall[False]["Small"], recall  # balance is what did it
    assert min(recall[True]["BigA"], recall[True]["BigB"]) >= 0.6, recall


def test_the_temporal_head_learns_the_small_class_too(features, tmp_path):
    result = train(config(imbalanced(tmp_path / "d"), head="temporal_conv", epochs=20,
                          width=32, batch_size=16))
    recall = evaluate(result.run_dir).aggregators["temporal"].per_class
    assert recall["Small"] >= 0.7 and min(recall["BigA"], recall["BigB"]) >= 0.6, recall


def test_one_take_per_class_trains_and_the_head_choice_is_recorded(features, tmp_path):
    csv = manifest(tmp_path / "d", {"Wave": (1, 0, 1), "Clap": (1, 0, 1)}, split=False)
    result = train(config(csv, choose_head=True, epochs=5))
    assert result.state == "finished" and result.head == "linear"
    assert "no validation recordings" in result.head_choice["why"]
    assert [n.split(":")[0] for n in result.split_notes] == ["Clap", "Wave"]
    model = load_model(result.run_dir)
    assert model.spec.name == "linear" and not (Path(result.run_dir) / runs.KERAS_MODEL).exists()
    status = runs.read_json(Path(result.run_dir) / runs.STATUS)
    assert status["head"] == "linear" and status["head_choice"]["head"] == "linear"


def test_the_choice_keeps_the_temporal_head_where_order_matters(fake_features, tmp_path):
    """Synthetic Up/Down clips are each other's time-reverse: only the temporal head can
    tell them apart, so validation must keep it (tests/synthetic.py)."""
    csv = fake_features.make_dataset(tmp_path / "d")
    result = train(config(csv, choose_head=True, epochs=15, width=32, batch_size=8,
                          val_fraction=0.3, patience=None))
    choice = result.head_choice
    assert result.head == "temporal_conv" == choice["head"], choice
    assert set(choice["candidates"]) == {"temporal_conv", "linear"}
    assert (choice["candidates"]["temporal_conv"]["mean_class_accuracy"]
            > choice["candidates"]["linear"]["mean_class_accuracy"])
    assert load_model(result.run_dir).spec.name == "temporal_conv"


def test_a_neural_head_without_validation_keeps_its_last_epoch(features, tmp_path):
    csv = manifest(tmp_path / "d", {"Wave": (1, 1, 2), "Clap": (1, 1, 2)})
    result = train(config(csv, head="temporal_conv", epochs=3, width=8))
    assert result.state == "finished" and result.val_videos == 0
    assert result.epochs_run == result.best_epoch == 3  # no validation: every epoch, last kept
    assert evaluate(result.run_dir).num_videos == 4
