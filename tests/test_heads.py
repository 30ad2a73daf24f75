"""Heads: registry, architectures, masking, scaling, the linear head, safe loading."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vidcore import runs
from vidcore.errors import InputError, RunError
from vidcore.models import heads, linear, numpy_heads, scaling
from vidcore.models.loading import load_model


def test_registry_lists_valid_names_on_error():
    assert heads.list_heads() == ["frame_mlp", "temporal_conv", "linear"]
    with pytest.raises(InputError, match="frame_mlp, temporal_conv, linear"):
        heads.get_head("lstm")
    with pytest.raises(InputError, match="not a Keras model"):
        heads.create_head("linear", 8, 3)


def test_frame_mlp_is_the_reference_head():
    model = heads.create_head("frame_mlp", 32, 5)
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    drops = [layer for layer in model.layers if layer.__class__.__name__ == "Dropout"]
    assert [d.units for d in dense] == [1024, 512, 256, 128, 5]
    assert all(d.activation.__name__ == "relu" for d in dense[:-1])
    assert dense[-1].activation.__name__ == "softmax"
    assert [d.rate for d in drops] == [0.5] * 4
    names = [layer.name for layer in model.layers]
    assert all(names.index(f"dropout_{i}") == names.index(f"dense_{i}") + 1 for i in range(4))


def _temporal(x, mask, model):
    out = model({"features": x, "mask": mask}, training=False)
    return np.asarray(out["clip"]), np.asarray(out["frames"])


def test_temporal_head_ignores_padding_and_sees_order():
    model = heads.create_head("temporal_conv", 6, 3, width=8)
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(5, 6)).astype(np.float32), rng.normal(size=(3, 6)).astype(np.float32)]
    short = _temporal(*scaling.pad_sequences(seqs), model)
    long = _temporal(*scaling.pad_sequences(seqs, length=9), model)
    np.testing.assert_allclose(short[0], long[0], atol=1e-6)
    np.testing.assert_allclose(short[1], long[1][:, :5], atol=1e-6)
    backwards = _temporal(*scaling.pad_sequences([s[::-1] for s in seqs]), model)
    assert np.abs(backwards[0] - short[0]).max() > 1e-4  # order changes the clip output
    np.testing.assert_allclose(backwards[1][0], short[1][0][::-1], atol=1e-6)  # not frames'


def test_scaling_train_max_and_standard_round_trip(tmp_path):
    frames = np.array([[1, 2], [3, 8]], np.float16)
    peak = scaling.Scaling.fit("train_max", frames)
    np.testing.assert_allclose(peak.apply(frames), frames / 8.0)
    standard = scaling.Scaling.fit("standard", frames)
    np.testing.assert_allclose(standard.apply(frames).mean(0), 0, atol=1e-6)
    standard.save(tmp_path / "scaling.npz")
    again = scaling.Scaling.load(tmp_path / "scaling.npz")
    assert again.kind == "standard"
    np.testing.assert_array_equal(again.scale, standard.scale)
    assert scaling.Scaling.fit(None, frames).apply(frames).tolist() == frames.tolist()


@pytest.mark.parametrize("num_classes", [2, 4])
def test_linear_head_matches_sklearn_and_round_trips(tmp_path, num_classes):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    y = np.arange(60) % num_classes
    x = rng.normal(size=(60, 5)) + y[:, None]
    head = linear.LinearHead.fit(x, y, num_classes)
    reference = LogisticRegression(max_iter=2000, random_state=0).fit(
        StandardScaler().fit_transform(x), y)
    expected = reference.predict_proba(StandardScaler().fit(x).transform(x))
    np.testing.assert_allclose(head.predict_proba(x), expected, atol=1e-4)
    head.save(tmp_path / "model.npz")
    with np.load(tmp_path / "model.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["coef", "intercept", "mean", "pooling", "root", "scale"]
    np.testing.assert_array_equal(linear.LinearHead.load(tmp_path / "model.npz").coef, head.coef)


def test_linear_head_never_predicts_a_class_it_never_saw():
    x = np.array([[0.0], [0.1], [1.0], [1.1]])
    head = linear.LinearHead.fit(x, np.array([0, 0, 2, 2]), num_classes=3)
    assert head.predict_proba(x)[:, 1].max() < 1e-6


def _fake_run(tmp_path, head="frame_mlp"):
    run = tmp_path / "run"
    run.mkdir()
    (run / runs.CONFIG).write_text(json.dumps({"head": head, "backbone": "efficientnet_lite0"}))
    (run / runs.CLASSES).write_text(json.dumps(["a", "b"]))
    scaling.Scaling.fit(None, np.zeros((1, 4), np.float32)).save(run / runs.SCALING)
    return run


def test_loading_refuses_a_lambda_layer(tmp_path):
    import keras

    run = _fake_run(tmp_path)
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    keras.Model(inputs, outputs).save(run / runs.KERAS_MODEL)
    with pytest.raises(RunError, match="(?i)lambda"):
        load_model(run)


def test_loading_uses_safe_mode(tmp_path, monkeypatch):
    import keras

    run = _fake_run(tmp_path)
    heads.create_head("frame_mlp", 4, 2).save(run / runs.KERAS_MODEL)
    seen = {}
    real = keras.saving.load_model

    def spy(path, **kwargs):
        seen.update(kwargs)
        return real(path, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    # the Keras path (vidcore's own heads load in numpy, which executes nothing)
    monkeypatch.setattr(numpy_heads, "load", lambda *args: None)
    model = load_model(run)
    assert seen["safe_mode"] is True
    out = model.predict_features(_features(np.ones((3, 4), np.float16)))
    assert out.frame_probs.shape == (3, 2) and out.clip_probs is None
    with pytest.raises(RunError, match="expects"):
        model.predict_features(_features(np.ones((3, 5), np.float16)))


def _features(array):
    from vidcore.features import VideoFeatures

    return VideoFeatures(array, np.arange(len(array)) * 0.5, np.arange(len(array)))


def test_missing_run_says_what_to_do(tmp_path):
    with pytest.raises(RunError, match="does not exist"):
        load_model(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="not a run directory"):
        load_model(tmp_path / "empty")


def test_every_head_kind_has_a_runtime():
    from vidcore.models.runtimes import RUNTIMES

    assert {heads.get_head(name).kind for name in heads.list_heads()} == set(RUNTIMES)


def test_model_version_changes_with_the_model_and_never_raises(tmp_path):
    import os

    from vidcore.models.loading import model_version

    assert model_version(None) == 0 and model_version(tmp_path / "nope") == 0
    run = _fake_run(tmp_path)  # config, classes and scaling, no model file yet
    before = model_version(run)
    assert before > 0
    heads.create_head("frame_mlp", 4, 2).save(run / runs.KERAS_MODEL)
    stamp = before + 10**9  # a second later, whatever the file system's resolution
    os.utime(run / runs.KERAS_MODEL, ns=(stamp, stamp))
    assert model_version(run) == stamp
    assert model_version(str(run) + "\0") == 0  # an impossible path is 0, not an error
