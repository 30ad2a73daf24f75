"""Fine-tuning the top of the backbone (``vidcore.finetune``) on OpenCV-written clips.

One fine-tuned run (Lite0 from ImageNet, its last stage, 2 frames a clip, 2 epochs on
6 clips) and its answer on a test clip are shared by the file: its backbone changes
where it was trained and nowhere else, the training loss falls, the run predicts,
explains and exports through its own backbone (the Keras model TFLite and SavedModel
are converted from, ``export.frames_model``: tests/test_export.py checks that the
conversions equal it), its bundle carries that backbone and imports, a second run
reuses the activation cache (computes nothing), and that run, killed in its first
fine-tuning step, reads as failed with nothing half-written. The cost estimate scales
the measured figures the checkout ships.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from vidcore import runs
from vidcore.data.sampling import UniformSampler
from vidcore.data.video import resize_frame
from vidcore.features.activations import ActivationStore, activation_spec, load_activations
from vidcore.models import run_backbone
from vidcore.train import TrainConfig, train

COLOURS = {"red": (40, 40, 220), "blue": (220, 40, 40)}


def write_clip(path, colour, seed: int, frames: int = 12):
    """A noisy clip with a moving square of ``colour``."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (48, 48))
    for i in range(frames):
        image = rng.integers(60, 200, (48, 48, 3), dtype=np.uint8)
        image[8 + seed % 8:28 + seed % 8, 4 + i:24 + i] = colour
        writer.write(image)
    writer.release()
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """2 classes, 3 training clips of one recording each (no validation: every epoch is
    kept) and one test clip each, as a CSV manifest."""
    root = tmp_path_factory.mktemp("ft-data")
    rows = ["path,label,group,split"]
    for n, (name, colour) in enumerate(COLOURS.items()):
        for c in range(4):
            rel = f"{name}/v_{name}_g01_c{c:02d}.avi"
            write_clip(root / rel, colour, 10 * n + c)
            split = "test" if c == 3 else "train"
            rows.append(f"{rel},{name},{'g01' if split == 'train' else 'g02'},{split}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def config_of(dataset, **values) -> TrainConfig:
    return TrainConfig.from_dict({
        "dataset": str(dataset / "manifest.csv"), "backbone": "efficientnet_lite0",
        "weights": "imagenet", "sampler": UniformSampler(2).config(), "flip": True,
        "head": "linear", "finetune_stages": 1, "finetune_frames": 2, "epochs": 2,
        "batch_size": 2, "learning_rate": 1e-3, "store_dir": str(dataset / "store"),
        **values})


@pytest.fixture(scope="module", autouse=True)
def keras_engine():
    """Keras in float32 (nothing converted for LiteRT, no engine measured), for the
    shared run and every test."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDCORE_ENGINE", "keras")
        mp.setenv("VIDCORE_PRECISION", "float32")
        yield


@pytest.fixture(scope="module")
def tuned(dataset, tmp_path_factory):
    """The shared fine-tuned run."""
    result = train(config_of(dataset), tmp_path_factory.mktemp("ft-runs") / "run")
    assert result.state == "finished"
    return result


@pytest.fixture(scope="module")
def model(tuned):
    from vidcore.predict import load_model

    return load_model(tuned.run_dir)


@pytest.fixture(scope="module")
def answer(model, dataset):
    """The run's prediction on a test clip, the frames it read and their features."""
    from vidcore.predict import predict_with_frames

    return predict_with_frames(model, dataset / "red" / "v_red_g01_c03.avi")


def test_fine_tuning_changes_only_the_trained_stage(tuned):
    from vidcore.models.backbones import create_backbone
    from vidcore.models.lite_cut import cut_block

    base = create_backbone("efficientnet_lite0", "imagenet")
    own = create_backbone("efficientnet_lite0", run_backbone.weights_path(tuned.run_dir))
    cut = cut_block("efficientnet_lite0", 1)
    for layer in base.layers:
        if not layer.weights:
            continue
        same = all(np.array_equal(a, b) for a, b in
                   zip(layer.get_weights(), own.get_layer(layer.name).get_weights(),
                       strict=True))
        trained = layer.name.startswith((f"block{cut}_", "head_")) and "_bn" not in layer.name
        assert same != trained, layer.name  # trained layers moved, the rest did not
    status = runs.read_status(tuned.run_dir)
    assert status["finetune"]["stages"] == 1 and status["epochs_run"] == 2


def test_a_training_step_lowers_the_training_loss(tuned, dataset):
    from vidcore import finetune
    from vidcore.models.efficientnet_lite import build_lite_top

    config = config_of(dataset)
    spec = activation_spec(config.feature_spec(), 15)
    paths = sorted(dataset.glob("*/*_c0[012].avi"))
    clips = finetune.Clips(load_activations(paths, spec, config.store_dir),
                           np.array([0 if "red" in p.name else 1 for p in paths]))
    # A top of random weights and a classifier at zero (loss log 2): steps must learn.
    top = build_lite_top("efficientnet_lite0", 15, tuple(clips.maps[0].shape[2:]))
    trainer = finetune.TopTrainer(top, 2, 1e-4)
    before = finetune._validate(trainer, clips)["val_loss"]
    x = np.stack([np.asarray(m[:, 0], np.float32) for m in clips.maps])
    for _ in range(5):
        trainer.step(x, clips.y, np.ones(len(clips), np.float32))
    assert finetune._validate(trainer, clips)["val_loss"] < before


def test_the_run_predicts_explains_and_exports_through_its_own_backbone(tuned, model,
                                                                       answer):
    from vidcore import export
    from vidcore.explain import Explainer
    from vidcore.trust import run_trust

    assert model.feature_spec.weights == str(run_backbone.weights_path(tuned.run_dir).resolve())
    prediction, frames, feats = answer
    explanation = Explainer(model).explain(frames.images, feats, None)
    assert explanation.heatmaps.shape[0] == len(frames.images)
    assert np.isfinite(explanation.heatmaps).all()
    # The model exports convert: the run's own backbone, flip-averaged, then the head.
    small = np.stack([resize_frame(im, (224, 224)) for im in frames.images])
    got = np.asarray(export.frames_model(tuned.run_dir)(small))
    shown = run_trust(tuned.run_dir).scores(model.runtime.clip_aggregator,
                                            model.predict_features(feats).clip_probs)
    np.testing.assert_allclose(got, shown, atol=1e-3)  # batch norms folded here
    assert model.classes[int(np.argmax(got))] == prediction.primary_label


def test_the_bundle_carries_the_backbone_and_imports(tuned, model, answer, tmp_path):
    from vidcore import export
    from vidcore.predict import load_model

    data = export.bundle_bytes(tuned.run_dir)
    imported = export.import_bundle_bytes(data, "ft.zip", tmp_path / "runs")
    own = imported / run_backbone.WEIGHTS_FILE
    assert own.read_bytes() == run_backbone.weights_path(tuned.run_dir).read_bytes()
    again = load_model(imported)
    assert again.feature_spec.weights == str(own.resolve())  # its features: its own file
    feats = answer[2]
    np.testing.assert_array_equal(again.predict_features(feats).clip_probs,
                                  model.predict_features(feats).clip_probs)


def test_a_bundle_with_another_backbone_file_is_refused(tuned, tmp_path):
    import io
    import zipfile

    from vidcore import export
    from vidcore.errors import InputError

    entries = export.read_entries(export.bundle_bytes(tuned.run_dir), "ft.zip")
    entries[run_backbone.WEIGHTS_FILE] = entries[run_backbone.WEIGHTS_FILE][:-64] + bytes(64)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
    with pytest.raises(InputError, match="backbone_weights_id differs"):
        export.import_bundle_bytes(buffer.getvalue(), "bad.zip", tmp_path / "runs")


@pytest.fixture(scope="module")
def killed(tuned, dataset, tmp_path_factory):
    """A second run on the same clips, in its own process, killed (SIGKILL) right after
    its first fine-tuning step."""
    folder = tmp_path_factory.mktemp("ft-killed")
    run_dir, config = folder / "run", folder / "config.json"
    config.write_text(json.dumps(config_of(dataset, epochs=500, log_every=1).to_dict()))
    code = ("import json, sys; from pathlib import Path;"
            "from vidcore.train import TrainConfig, train;"
            "train(TrainConfig.from_dict(json.loads(Path(sys.argv[1]).read_text())),"
            " Path(sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(config), str(run_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        start = time.monotonic()
        while not runs.read_metrics(run_dir, "batch"):
            assert proc.poll() is None and time.monotonic() - start < 300
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return run_dir


def test_a_second_run_reuses_the_activation_cache(killed, dataset):
    spec = activation_spec(config_of(dataset).feature_spec(), 15)
    store = ActivationStore(dataset / "store", spec)
    assert len(list(store.folder.glob("*/*.npy"))) == 6  # 6 training clips, both views
    extract = runs.read_metrics(killed, "extract")
    assert extract and all(r["frames"] == 0 for r in extract)  # nothing computed again
    assert extract[-1]["done"] == extract[-1]["total"] == 6


def test_a_run_killed_while_fine_tuning_reads_as_failed(killed):
    # killed in the middle of fine-tuning: it had begun (a step logged) and was far from
    # its 500 epochs; under load an epoch or two may end before the signal lands
    assert runs.read_metrics(killed, "batch")
    assert len(runs.read_metrics(killed, "epoch")) < 10
    status = runs.read_status(killed)
    assert status["state"] == "failed" and "interrupted" in status["error"]
    assert runs.model_file(killed) is None  # nothing to load: cleanly failed
    assert not run_backbone.weights_path(killed).exists()
    assert not [p for p in killed.iterdir() if p.name.startswith(".")]  # no temp file


def test_the_cost_estimate_scales_the_shipped_measurement():
    from vidcore import finetune_cost

    figures = finetune_cost.measured()  # docs/finetune_cost.json, beside docs/presets.json
    assert figures["train_seconds_per_frame"] > 0 and figures["cache_seconds_per_frame"] > 0
    small, big = (finetune_cost.estimate_cost(n, figures=figures) for n in (100, 200))
    assert big["seconds_per_epoch"] == pytest.approx(2 * small["seconds_per_epoch"], rel=0.05)
    again = finetune_cost.estimate_cost(100, figures=figures, cached=True)
    assert again["cache_seconds"] == 0 < small["cache_seconds"]
    assert again["total_seconds"] == pytest.approx(small["total_seconds"] - small["cache_seconds"])
    assert "an epoch" in small["line"] and finetune_cost.estimate_cost(100, figures={}) is None
