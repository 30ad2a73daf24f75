"""Heads in numpy equal their Keras models, and a one-clip `vidcore predict` never imports
TensorFlow when the LiteRT conversion is cached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from vidcore.models import engines, heads, numpy_heads, runtimes
from vidcore.models.loading import load_model
from vidcore.models.scaling import pad_sequences
from vidcore.runs import DEMO_MODEL_DIR, model_file

keras = pytest.importorskip("keras")


def _keras(path):
    return runtimes.load_keras(path)


def _sequences(dim: int, lengths, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1, (n, dim)).astype(np.float32) for n in lengths]


def test_temporal_head_equals_keras_on_padded_batches():
    path = model_file(DEMO_MODEL_DIR)
    fast, slow = numpy_heads.load(path, "temporal"), _keras(path)
    assert isinstance(fast, numpy_heads.TemporalConvHead)
    x, mask = pad_sequences(_sequences(1280, [8, 3, 1, 12]))
    want = slow({"features": x, "mask": mask}, training=False)
    got = fast({"features": x, "mask": mask})
    for key in ("clip", "frames"):
        np.testing.assert_allclose(got[key], np.asarray(want[key]), atol=1e-5)
    assert got["clip"].argmax(1).tolist() == np.asarray(want["clip"]).argmax(1).tolist()
    # padding does not leak: a clip alone gives what it gives inside the batch
    alone = fast({"features": x[1:2, :3], "mask": mask[1:2, :3]})
    np.testing.assert_allclose(alone["clip"][0], got["clip"][1], atol=1e-6)


def test_frame_head_equals_keras(tmp_path):
    model = heads.create_head("frame_mlp", 32, 5)
    model(np.zeros((1, 32), np.float32))
    path = tmp_path / "model.keras"
    model.save(path)
    fast = numpy_heads.load(path, "frame")
    assert isinstance(fast, numpy_heads.FrameMLPHead)
    x = _sequences(32, [20])[0]
    np.testing.assert_allclose(fast(x), np.asarray(model(x, training=False)), atol=1e-5)


def test_a_file_that_is_not_a_vidcore_head_is_left_to_keras(tmp_path):
    inputs = keras.Input((32,), name="features")
    other = keras.Model(inputs, keras.layers.Dense(5, activation="tanh", name="probs")(inputs))
    path = tmp_path / "other.keras"
    other.save(path)
    assert numpy_heads.load(path, "frame") is None
    assert numpy_heads.load(model_file(DEMO_MODEL_DIR), "frame") is None  # wrong kind
    # weights renamed inside the archive: refused, not guessed
    bad = tmp_path / "renamed.keras"
    with zipfile.ZipFile(model_file(DEMO_MODEL_DIR)) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "config.json":
                cfg = json.loads(data)
                cfg["config"]["layers"][2]["config"]["name"] = "embedding"
                data = json.dumps(cfg).encode()
            dst.writestr(item, data)
    assert numpy_heads.load(bad, "temporal") is None
    (tmp_path / "torn.keras").write_bytes(b"PK\x03\x04 not a zip")
    assert numpy_heads.load(tmp_path / "torn.keras", "temporal") is None


@pytest.mark.skipif(not engines.litert_available(), reason="ai-edge-litert not installed")
def test_one_clip_predict_never_imports_tensorflow(tmp_path):
    from tests.workspace_clips import demo_clip
    from vidcore.features import FeatureSpec

    spec = FeatureSpec()
    if not engines._converted(spec):  # a fresh checkout: convert once (imports TF here)
        engines.build(spec, "litert", "float32")
    clip = demo_clip(tmp_path / "clip.avi", "JumpingJack", 2)
    code = ("import sys; from vidcore.cli import main; sys.argv = ['vidcore', 'predict', "
            f"{str(clip)!r}, '--json']; rc = main(); "
            "print('TF' if 'tensorflow' in sys.modules else 'no TF', file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k not in (engines.ENV_VAR, "VIDCORE_DEBUG")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "no TF"  # nothing else on stderr either
    assert json.loads(out.stdout)["primary_label"] == "JumpingJack"


def test_trained_model_predicts_in_numpy_and_still_offers_keras():
    model = load_model(DEMO_MODEL_DIR)
    assert isinstance(model.runtime.numpy_head, numpy_heads.TemporalConvHead)
    assert model.runtime._keras is None  # not loaded for predictions
    keras_model = model.runtime.keras_model  # gradients and exports need the Keras model
    assert keras_model.get_layer("clip") is not None and model.runtime.keras_model is keras_model

