"""Fine-tuning the top of the backbone (``vidcore.finetune``) on OpenCV-written clips.

One fine-tuned run (Lite0 from ImageNet, 2 frames a clip, 2 epochs) is shared by
the file: its backbone changes where it was trained and nowhere else, the training
loss falls, the run predicts, explains and exports through its own backbone, its
bundle carries that backbone and imports, a second run reuses the activation cache,
and a run killed while fine-tuning reads as failed with nothing half-written.
"""

from __future__ import annotations

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

pytestmark = pytest.mark.slow

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


@pytest.fixture(scope="module")
def tuned(dataset, tmp_path_factory):
    """The shared fine-tuned run (Keras engine: nothing converted for LiteRT)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDCORE_ENGINE", "keras")
        result = train(config_of(dataset), tmp_path_factory.mktemp("ft-runs") / "run")
    assert result.state == "finished"
    return result


@pytest.fixture(autouse=True)
def keras_engine(monkeypatch):
    monkeypatch.setenv("VIDCORE_ENGINE", "keras")


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
    from vidcore.models.backbones import create_backbone
    from vidcore.models.lite_cut import top_model

    config = config_of(dataset)
    spec = activation_spec(config.feature_spec(), 15)
    paths = sorted(dataset.glob("*/*_c0[012].avi"))
    clips = finetune.Clips(load_activations(paths, spec, config.store_dir),
                           np.array([0 if "red" in p.name else 1 for p in paths]))
    # The classifier starts at zero (loss log 2), not at the frozen optimum.
    trainer = finetune.TopTrainer(top_model(create_backbone("efficientnet_lite0"), 15), 2, 1e-4)
    before = finetune._validate(trainer, clips)["val_loss"]
    x = np.stack([np.asarray(m[:, 0], np.float32) for m in clips.maps])
    for _ in range(5):
        trainer.step(x, clips.y, np.ones(len(clips), np.float32))
    assert finetune._validate(trainer, clips)["val_loss"] < before


def test_a_second_run_reuses_the_activation_cache(tuned, dataset, tmp_path):
    spec = activation_spec(config_of(dataset).feature_spec(), 15)
    store = ActivationStore(dataset / "store", spec)
    assert len(list(store.folder.glob("*/*.npy"))) == 6  # 6 training clips, both views
    second = train(config_of(dataset, epochs=1), tmp_path / "again")
    cache = runs.read_status(second.run_dir)["finetune"]["cache"]
    assert (cache["computed"], cache["cached"]) == (0, 6)


def test_the_run_predicts_explains_and_exports_through_its_own_backbone(tuned, dataset,
                                                                       tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from vidcore import export
    from vidcore.explain import Explainer
    from vidcore.predict import load_model, predict_with_frames

    model = load_model(tuned.run_dir)
    own = str(run_backbone.weights_path(tuned.run_dir).resolve())
    assert model.feature_spec.weights == own
    clip = dataset / "red" / "v_red_g01_c03.avi"
    prediction, frames, feats = predict_with_frames(model, clip)
    explanation = Explainer(model).explain(frames.images, feats, None)
    assert explanation.heatmaps.shape[0] == len(frames.images)
    assert np.isfinite(explanation.heatmaps).all()
    path = export.export(tuned.run_dir, "tflite", tmp_path / "ft.tflite")
    interpreter = Interpreter(model_path=str(path), num_threads=2)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    small = np.stack([resize_frame(im, (224, 224)) for im in frames.images])
    interpreter.set_tensor(inp["index"], small)
    interpreter.invoke()
    got = interpreter.get_tensor(out["index"])
    assert model.classes[int(np.argmax(got))] == prediction.primary_label


def test_the_bundle_carries_the_backbone_and_imports(tuned, dataset, tmp_path):
    from vidcore import export
    from vidcore.predict import load_model, predict

    data = export.bundle_bytes(tuned.run_dir)
    imported = export.import_bundle_bytes(data, "ft.zip", tmp_path / "runs")
    assert (imported / run_backbone.WEIGHTS_FILE).read_bytes() == \
        run_backbone.weights_path(tuned.run_dir).read_bytes()
    clip = dataset / "blue" / "v_blue_g01_c03.avi"
    a, b = predict(load_model(tuned.run_dir), clip), predict(load_model(imported), clip)
    assert a.primary_label == b.primary_label


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


def test_a_run_killed_while_fine_tuning_reads_as_failed(dataset, tmp_path):
    run_dir = tmp_path / "killed"
    code = ("import sys; from tests.test_finetune import config_of; from pathlib import Path;"
            "from vidcore.train import train;"
            f"train(config_of(Path({str(dataset)!r}), epochs=500), Path({str(run_dir)!r}))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        start = time.monotonic()
        while not runs.read_metrics(run_dir, "epoch"):  # killed between two epochs
            assert proc.poll() is None and time.monotonic() - start < 300
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    status = runs.read_status(run_dir)
    assert status["state"] == "failed" and "interrupted" in status["error"]
    assert runs.model_file(run_dir) is None  # nothing to load: cleanly failed
    assert not run_backbone.weights_path(run_dir).exists()
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]  # no temp file
