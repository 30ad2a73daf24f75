"""EfficientNet-Lite1 and Lite2: the ImageNet proof, the full checkpoint, the recorded
cost, the converted-weights cache, batch-norm folding and the LiteRT engine."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest

from vidcore import settings
from vidcore.data.sampling import UniformSampler
from vidcore.errors import WeightsError
from vidcore.features import FeatureSpec, backbone_runner
from vidcore.models import backbones, efficientnet_lite, engines, litert_cache
from vidcore.models import precision as precisions
from vidcore.models.folding import fold_pairs
from vidcore.models.torch_legacy import load_legacy_state_dict

keras = pytest.importorskip("keras")
BIGGER = ["efficientnet_lite1", "efficientnet_lite2"]
CATS, COFFEE = {281, 282, 285}, {967, 968}


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """A private weights folder, so these tests never touch <repo>/weights."""
    folder = tmp_path_factory.mktemp("weights")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(efficientnet_lite.WEIGHTS_DIR_ENV, str(folder))
        patch.delenv(engines.ENV_VAR, raising=False)
        patch.delenv(precisions.ENV_VAR, raising=False)
        yield folder


def _square(image: np.ndarray, size: int) -> np.ndarray:
    """Center-crop to a square, then area-resize to ``size``."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return cv2.resize(image[top:top + side, left:left + side], (size, size),
                      interpolation=cv2.INTER_AREA)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def test_stages_follow_the_checkpoints():
    """Widths and repeats derived from the multipliers match each checkpoint's tensors."""
    for name in BIGGER:
        state = load_legacy_state_dict(efficientnet_lite.checkpoint_path(name))
        blocks = [s.filters for s in efficientnet_lite.stages(name) for _ in range(s.repeats)]
        stored = [state[f"_blocks.{i}._project_conv.weight"].shape[0]
                  for i in range(len(blocks))]
        assert blocks == stored and f"_blocks.{len(blocks)}._bn0.weight" not in state
        model = efficientnet_lite.build_lite(name, include_classifier=True)
        assert efficientnet_lite.assign_state_dict(model, state, name) == len(state)
        wrong = dict(state, **{"_conv_head.weight": np.zeros((1280, 8, 1, 1), np.float32)})
        with pytest.raises(WeightsError, match="Lite. tensor _conv_head.weight has shape"):
            efficientnet_lite.assign_state_dict(model, wrong, name)


@pytest.mark.parametrize("name", BIGGER)
def test_registry_row_and_recorded_cost(name):
    spec = backbones.get_spec(name)
    model = backbones.create_backbone(name, weights=None)
    size = efficientnet_lite.variant(name).input_size
    assert spec.input_size == size == model.input_shape[1] == model.input_shape[2]
    assert spec.feature_dim == model.output_shape[-1] == 1280
    assert spec.macs == backbones.count_macs(model)
    assert backbones.imagenet_weights_available(name)


@pytest.mark.parametrize("name", BIGGER)
def test_imagenet_proof(name, weights_dir):
    """chelsea scores cats, coffee scores espresso, with clear margins (as Lite0 does).

    Observed: Lite1 chelsea -> 285 Egyptian cat 0.541, 282 0.170, 281 0.133, 287 lynx
    0.013; coffee -> 967 espresso 0.617, 925 consomme 0.058, 968 cup 0.043. Lite2
    chelsea -> 285 0.606, 282 0.138, 281 0.088, 287 0.022; coffee -> 967 0.900, 968 0.014.
    """
    skimage = pytest.importorskip("skimage.data")
    size = backbones.get_spec(name).input_size
    model = backbones.create_backbone(name, "imagenet", include_classifier=True)
    batch = np.stack([_square(photo, size) for photo in (skimage.chelsea(), skimage.coffee())])
    probs = _softmax(np.asarray(model.predict(batch, verbose=0), dtype=np.float64))
    cat_order, coffee_order = np.argsort(-probs[0]), np.argsort(-probs[1])
    assert cat_order[0] in CATS and sum(probs[0][i] for i in CATS) > 0.7
    best_other = max(probs[0][i] for i in cat_order[:10] if i not in CATS)
    assert probs[0][cat_order[0]] > 4 * best_other
    assert coffee_order[0] == 967 and probs[1][967] > 0.5
    best_other = max(probs[1][i] for i in coffee_order[:10] if i not in COFFEE)
    assert probs[1][967] > 8 * best_other


def test_converted_weights_cached_with_sidecar(weights_dir, monkeypatch):
    name = "efficientnet_lite1"
    path = efficientnet_lite.imagenet_weights_path(name=name)
    record = json.loads(path.with_name(path.name + ".json").read_text())
    assert path.name == "efficientnet_lite1_imagenet.weights.h5"
    assert record["sha256"] == efficientnet_lite.sha256_file(path)
    assert record["source"] == efficientnet_lite.variant(name).checkpoint_name
    monkeypatch.setattr(efficientnet_lite, "convert_checkpoint",
                        lambda *a, **k: pytest.fail("an intact cache is reused"))
    assert efficientnet_lite.imagenet_weights_path(name=name) == path
    lite0 = settings.weights_dir() / efficientnet_lite.WEIGHTS_FILE_NAME
    assert backbones.weights_fingerprint(name) != backbones.weights_fingerprint(
        "efficientnet_lite2") and not lite0.exists()


@pytest.mark.parametrize("name", BIGGER)
def test_folded_and_litert_features_equal_keras(name, weights_dir, monkeypatch):
    """ImageNet weights: folding and the LiteRT conversion keep the features.

    The conversion's own guard runs on 4 of its rendered frames, not 32: what is checked
    here is the features of the frames below (the guard's 32 are test_engines' subject);
    rendering and running the other 28 through both engines cost about 3 s a model."""
    pytest.importorskip("ai_edge_litert")
    guard = litert_cache.guard_frames
    monkeypatch.setattr(litert_cache, "guard_frames", lambda size: guard(size, 4))
    size = backbones.get_spec(name).input_size
    frames = np.random.default_rng(3).integers(0, 256, (4, size, size, 3), dtype=np.uint8)
    spec = FeatureSpec(name, "imagenet", UniformSampler(2), precision="float32")
    model = backbones.create_backbone(name, "imagenet")
    assert fold_pairs(model)
    plain = backbone_runner(replace(spec, engine="keras"), model, fold=False)(frames)
    folded = backbone_runner(replace(spec, engine="keras"), model)(frames)
    litert = backbone_runner(replace(spec, engine="litert"))
    assert litert.engine == "litert"
    lite = litert(frames)
    assert plain.shape == lite.shape == (4, 1280)
    assert np.abs(folded - plain).max() <= 1e-3 * max(1.0, np.abs(plain).max())
    assert np.abs(lite - plain).max() < litert_cache.GUARD_MAX_ABS
