"""Backbone registry, the offline EfficientNet-Lite0 port and its weights cache."""

from __future__ import annotations

import json
import os
import time
from unittest import mock

import cv2
import numpy as np
import pytest

from vidcore.errors import InputError, WeightsError
from vidcore.models import backbones, efficientnet_lite
from vidcore.models.torch_legacy import load_legacy_state_dict

keras = pytest.importorskip("keras")

SIZE = 224


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """A private converted-weights folder, so tests never touch <repo>/weights."""
    folder = tmp_path_factory.mktemp("weights")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(efficientnet_lite.WEIGHTS_DIR_ENV, str(folder))
        yield folder


@pytest.fixture()
def conversions(monkeypatch):
    """Count calls to the (slow) checkpoint conversion."""
    calls = []
    real = efficientnet_lite.convert_checkpoint

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(efficientnet_lite, "convert_checkpoint", counting)
    return calls


@pytest.fixture()
def empty_keras_home(tmp_path, monkeypatch):
    """Point Keras's cache at an empty folder."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return tmp_path / "keras_home" / "models"


def _frames(n: int = 2, seed: int = 0, size: int = SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _square_224(image: np.ndarray) -> np.ndarray:
    """Center-crop to a square, then area-resize to 224x224."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = image[top:top + side, left:left + side]
    return cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def _skimage():
    return pytest.importorskip("skimage.data")


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


# --- registry -------------------------------------------------------------------


def test_registry_contents():
    names = backbones.list_backbones()
    assert names[0] == backbones.DEFAULT_BACKBONE == "efficientnet_lite0"
    assert set(names) == {"efficientnet_lite0", "vgg16", "resnet50", "mobilenet_v2",
                          "mobilenet_v3_large", "efficientnet_b0", "efficientnet_lite1",
                          "efficientnet_lite2"}
    dims = {name: backbones.get_spec(name).feature_dim for name in names}
    assert dims == {"efficientnet_lite0": 1280, "vgg16": 25088, "resnet50": 2048,
                    "mobilenet_v2": 1280, "mobilenet_v3_large": 960, "efficientnet_b0": 1280,
                    "efficientnet_lite1": 1280, "efficientnet_lite2": 1280}
    assert backbones.get_spec("vgg16").feature_scaling == "train_max"
    assert all(backbones.get_spec(n).feature_scaling is None for n in names if n != "vgg16")
    sizes = {"efficientnet_lite1": 240, "efficientnet_lite2": 260}
    assert all(backbones.get_spec(n).input_size == sizes.get(n, SIZE) for n in names)


def test_unknown_name_lists_valid_names():
    with pytest.raises(InputError, match="valid names: efficientnet_lite0, vgg16"):
        backbones.create_backbone("alexnet", weights=None)
    with pytest.raises(InputError, match="alexnet"):
        backbones.get_spec("alexnet")


@pytest.mark.parametrize("bad", [3, "imagenet21k", "/no/such/weights.h5", ["imagenet"]])
def test_bad_weights_value(bad):
    with pytest.raises(WeightsError, match="None, 'imagenet' or the path") as info:
        backbones.create_backbone("mobilenet_v2", weights=bad)
    assert str(bad) in str(info.value)


def test_classifier_only_for_lite0():
    with pytest.raises(InputError, match="include_classifier"):
        backbones.create_backbone("resnet50", weights=None, include_classifier=True)


@pytest.mark.parametrize("name", backbones.list_backbones())
def test_random_init_shapes(name):
    model = backbones.create_backbone(name, weights=None)
    features = np.asarray(model(_frames(size=backbones.get_spec(name).input_size),
                                training=False))
    assert features.shape == (2, backbones.get_spec(name).feature_dim)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()


def test_uint8_and_float_frames_agree():
    model = backbones.create_backbone("mobilenet_v2", weights=None)
    frames = _frames()
    as_uint8 = np.asarray(model(frames, training=False))
    as_float = np.asarray(model(frames.astype(np.float32), training=False))
    np.testing.assert_allclose(as_uint8, as_float, rtol=1e-5, atol=1e-6)


def test_caffe_layer_matches_keras_preprocess_input():
    frames = np.random.default_rng(1).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    ours = np.asarray(backbones.caffe_preprocess_layer()(frames))
    ref = keras.applications.vgg16.preprocess_input(frames.copy())
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_caffe_layer_reloads_in_safe_mode(tmp_path):
    inputs = keras.Input((8, 8, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(backbones.caffe_preprocess_layer()(inputs))
    path = tmp_path / "caffe.keras"
    keras.Model(inputs, pooled).save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    frames = np.full((1, 8, 8, 3), [10, 20, 30], np.float32)
    expected = np.float32([[30 - 103.939, 20 - 116.779, 10 - 123.68]])
    np.testing.assert_allclose(np.asarray(reloaded(frames)), expected, atol=1e-4)


def test_fingerprint_random():
    assert backbones.weights_fingerprint("vgg16", None) == "random"


# --- keras.applications weights: cache only, never downloads -----------------------


def test_missing_keras_cache_file_names_it(empty_keras_home):
    start = time.monotonic()
    with pytest.raises(WeightsError) as info:
        backbones.create_backbone("resnet50", weights="imagenet")
    message = str(info.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(empty_keras_home) in message
    assert "weights=<path" in message
    assert time.monotonic() - start < 5
    assert not backbones.imagenet_weights_available("resnet50")
    with pytest.raises(WeightsError, match="resnet50_weights"):
        backbones.weights_fingerprint("resnet50", "imagenet")


def test_damaged_keras_cache_file_is_weights_error(empty_keras_home):
    spec = backbones.get_spec("mobilenet_v2")
    empty_keras_home.mkdir(parents=True)
    (empty_keras_home / spec.keras_weights_file).write_bytes(b"not hdf5")
    assert backbones.imagenet_weights_available("mobilenet_v2")
    with pytest.raises(WeightsError, match="cannot load weights"):
        backbones.create_backbone("mobilenet_v2", weights="imagenet")


def test_weights_path_is_loaded_into_keras_core(tmp_path):
    core = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg",
                                          input_shape=(SIZE, SIZE, 3))
    path = tmp_path / "mnv2.weights.h5"
    core.save_weights(str(path))
    model = backbones.create_backbone("mobilenet_v2", weights=path)
    frames = _frames(seed=3)
    expected = np.asarray(core(frames.astype(np.float32) / 127.5 - 1.0, training=False))
    np.testing.assert_allclose(np.asarray(model(frames, training=False)), expected,
                               rtol=1e-4, atol=1e-5)
    fingerprint = backbones.weights_fingerprint("mobilenet_v2", path)
    assert fingerprint == efficientnet_lite.sha256_file(path)[:16]


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_weights_path_of_wrong_architecture(tmp_path):
    inputs = keras.Input((4,))
    tiny = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    path = tmp_path / "tiny.weights.h5"
    tiny.save_weights(str(path))
    with pytest.raises(WeightsError, match="cannot load weights"):
        backbones.create_backbone("mobilenet_v2", weights=path)


def test_efficientnet_b0_matches_keras_imagenet_graph(tmp_path):
    """Keras adds a Rescaling layer only for weights="imagenet"; we fold it in."""
    core = keras.applications.EfficientNetB0(include_top=False, weights=None, pooling="avg",
                                             input_shape=(SIZE, SIZE, 3))
    norm = next(layer for layer in core.layers if isinstance(layer, keras.layers.Normalization))
    *_, count = norm.get_weights()
    # The statistics Keras's ImageNet file carries (std stored squared as variance).
    norm.set_weights([np.float32([0.485, 0.456, 0.406]),
                      np.square(np.float32(backbones.KERAS_EFFICIENTNET_STD)), count])
    path = tmp_path / "b0.weights.h5"
    core.save_weights(str(path))
    # Keras's own ImageNet build, served our file instead of a download.
    with mock.patch("keras.src.utils.file_utils.get_file", return_value=str(path)):
        reference = keras.applications.EfficientNetB0(
            include_top=False, weights="imagenet", pooling="avg", input_shape=(SIZE, SIZE, 3))
    frames = _frames(seed=4)
    expected = np.asarray(reference(frames.astype(np.float32), training=False))
    ours = np.asarray(backbones.create_backbone("efficientnet_b0", weights=path)(frames))
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-3 * np.abs(expected).max())


# --- EfficientNet-Lite0 port --------------------------------------------------------


def test_lite0_imagenet_proof(weights_dir):
    """Sample photos get the right ImageNet classes with a clear margin.

    Observed: chelsea -> 285 Egyptian cat 0.403, 282 tiger cat 0.321, 281 tabby
    0.164, then 287 lynx 0.032 (best non-cat); coffee -> 967 espresso 0.943,
    968 cup 0.015, 925 consomme 0.008.
    """
    model = backbones.create_backbone("efficientnet_lite0", weights="imagenet",
                                      include_classifier=True)
    batch = np.stack([_square_224(s) for s in (_skimage().chelsea(), _skimage().coffee())])
    probs = _softmax(np.asarray(model.predict(batch, verbose=0), dtype=np.float64))
    cats, coffee = {281, 282, 285}, {967, 968}
    cat_order = np.argsort(-probs[0])
    assert cat_order[0] in cats
    best_other = max(probs[0][i] for i in cat_order[:10] if i not in cats)
    assert probs[0][cat_order[0]] > 5 * best_other
    assert sum(probs[0][i] for i in cats) > 0.8
    coffee_order = np.argsort(-probs[1])
    assert coffee & set(coffee_order[:3].tolist())
    assert coffee_order[0] in coffee and probs[1][coffee_order[0]] > 0.8
    best_other = max(probs[1][i] for i in coffee_order[:10] if i not in coffee)
    assert probs[1][coffee_order[0]] > 20 * best_other


def test_lite0_features_feed_the_classifier(weights_dir):
    features_model = backbones.create_backbone("efficientnet_lite0", weights="imagenet")
    classifier = efficientnet_lite.create_lite0_classifier()
    frames = _frames(seed=5)
    features = np.asarray(features_model(frames, training=False))
    assert features.shape == (2, 1280) and features.dtype == np.float32
    kernel, bias = classifier.get_layer("classifier").get_weights()
    np.testing.assert_allclose(features @ kernel + bias,
                               np.asarray(classifier(frames, training=False)),
                               rtol=1e-4, atol=1e-3)


def test_every_checkpoint_tensor_consumed_once():
    state = load_legacy_state_dict(efficientnet_lite.checkpoint_path())
    model = efficientnet_lite.build_lite0(include_classifier=True)
    assert efficientnet_lite.assign_state_dict(model, state) == len(state) == 296
    extra = dict(state, **{"_extra.weight": np.zeros(3, np.float32)})
    with pytest.raises(WeightsError, match="unused"):
        efficientnet_lite.assign_state_dict(model, extra)
    missing = {k: v for k, v in state.items() if k != "_blocks.3._bn1.running_var"}
    with pytest.raises(WeightsError, match="lacks"):
        efficientnet_lite.assign_state_dict(model, missing)
    wrong = dict(state, **{"_fc.bias": np.zeros(999, np.float32)})
    with pytest.raises(WeightsError, match="shape"):
        efficientnet_lite.assign_state_dict(model, wrong)


def test_converted_cache_reused_when_intact(weights_dir, conversions):
    path = efficientnet_lite.imagenet_weights_path()
    mtime = path.stat().st_mtime_ns
    assert efficientnet_lite.imagenet_weights_path() == path
    assert path.parent == weights_dir
    assert conversions == []
    assert path.stat().st_mtime_ns == mtime
    record = json.loads(path.with_name(path.name + ".json").read_text())
    assert record["sha256"] == efficientnet_lite.sha256_file(path)
    fingerprint = backbones.weights_fingerprint("efficientnet_lite0", "imagenet")
    assert fingerprint == record["sha256"][:16]


def test_converted_cache_rebuilt_when_damaged(weights_dir, conversions):
    path = efficientnet_lite.imagenet_weights_path()
    good = efficientnet_lite.sha256_file(path)
    with open(path, "r+b") as handle:  # corrupt bytes in the middle, same size
        handle.seek(path.stat().st_size // 2)
        handle.write(os.urandom(64))
    assert efficientnet_lite.sha256_file(path) != good
    model = backbones.create_backbone("efficientnet_lite0", weights="imagenet")
    assert len(conversions) == 1
    record = json.loads(path.with_name(path.name + ".json").read_text())
    assert record["sha256"] == efficientnet_lite.sha256_file(path)
    assert np.isfinite(np.asarray(model(_frames(1), training=False))).all()
    # No temp files are left behind by the atomic write.
    assert sorted(p.name for p in weights_dir.iterdir()) == [path.name, path.name + ".json"]


def test_converted_cache_rebuilt_without_sidecar(weights_dir, conversions):
    path = efficientnet_lite.imagenet_weights_path()
    path.with_name(path.name + ".json").unlink()
    efficientnet_lite.imagenet_weights_path()
    assert len(conversions) == 1
