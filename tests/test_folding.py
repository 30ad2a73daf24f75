"""Folding batch norms into convolutions changes speed, not features."""

import numpy as np
import pytest

from vidcore.data.sampling import UniformSampler
from vidcore.features import FeatureSpec, backbone_runner
from vidcore.models.folding import fold_batch_norms, fold_pairs


@pytest.fixture(scope="module")
def lite0():
    from vidcore.models.backbones import create_backbone

    return create_backbone("efficientnet_lite0", weights=None)


def test_folded_lite0_gives_the_same_features(lite0):
    import keras

    rng = np.random.default_rng(0)
    # random init leaves batch norms as identities: give them real statistics
    for layer in lite0.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n),
                               rng.normal(0, 0.1, n), rng.uniform(1e-4, 2.0, n)])
    pairs = fold_pairs(lite0)
    assert pairs and len(pairs) == sum(
        isinstance(layer, keras.layers.BatchNormalization) for layer in lite0.layers)
    folded = fold_batch_norms(lite0)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    frames = rng.integers(0, 256, (4, 224, 224, 3), dtype=np.uint8)
    plain = lite0(frames, training=False).numpy()
    fast = folded(frames, training=False).numpy()
    assert np.abs(plain - fast).max() <= 1e-3 * max(1.0, np.abs(plain).max())
    spec = FeatureSpec("efficientnet_lite0", None, UniformSampler(2), precision="float32")
    runner_plain = backbone_runner(spec, lite0, fold=False)
    runner_fast = backbone_runner(spec, lite0)
    np.testing.assert_allclose(runner_fast(frames), runner_plain(frames), rtol=1e-3, atol=1e-3)


def test_models_without_the_pattern_are_left_alone():
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=True, name="a_conv")(inputs)
    x = keras.layers.BatchNormalization(name="a_bn")(x)
    model = keras.Model(inputs, x)
    assert fold_pairs(model) is None and fold_batch_norms(model) is model
