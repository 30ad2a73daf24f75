"""Inference speed-ups: batch norms folded into convolutions, and bfloat16 compute.

A conv without bias followed by ``BatchNormalization`` computes
``conv(x, W) * s + (beta - mean * s)`` with ``s = gamma / sqrt(var + eps)``, which is
exactly ``conv(x, W * s) + (beta - mean * s)``. TensorFlow on CPU runs an unfolded batch
norm as separate element-wise passes over each activation, standing between the conv
and its ReLU6 so oneDNN cannot fuse them either; folding made EfficientNet-Lite0 about
1.6x faster here (docs/benchmarks.md) with features equal to about 1e-5.
The folded copy is for inference only: it is never saved.

The same copy can compute in bfloat16 (Keras ``mixed_bfloat16``: weights stay
float32, maths in bfloat16, outputs cast back to float32 by the caller), which
``vidcore.models.precision`` decides.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

CONVS = ("Conv2D", "DepthwiseConv2D")


def _kind(layer) -> str:
    return type(layer).__name__


def fold_pairs(model) -> dict[str, str] | None:
    """Conv name -> batch-norm name for every batch norm, or None if one has no conv.

    Pairs follow the naming of vidcore's Lite0: ``<x>_conv`` is followed by ``<x>_bn``.
    """
    names = {layer.name: layer for layer in model.layers}
    pairs = {}
    for layer in model.layers:
        if _kind(layer) != "BatchNormalization":
            continue
        conv = names.get(layer.name.removesuffix("bn") + "conv")
        if conv is None or _kind(conv) not in CONVS or conv.use_bias:
            return None
        pairs[conv.name] = layer.name
    return pairs or None


def _identity_layer():
    import keras

    class FoldedBatchNorm(keras.layers.Layer):
        """Stands where a folded batch norm was: returns its input."""

        def call(self, inputs, training=None, mask=None):
            return inputs

    return FoldedBatchNorm


def _folded_conv_weights(conv, bn) -> list[np.ndarray]:
    gamma, beta, mean, var = bn.get_weights()
    scale = gamma / np.sqrt(var + bn.epsilon)
    (kernel,) = conv.get_weights()
    if _kind(conv) == "DepthwiseConv2D":  # kernel (k, k, channels, 1)
        kernel = kernel * scale[None, None, :, None]
    else:  # kernel (k, k, in, out)
        kernel = kernel * scale
    return [kernel, beta - mean * scale]


def fold_batch_norms(model):
    """An inference-only copy of ``model`` with batch norms folded into their convs.

    Returns ``model`` itself when it does not follow the ``<x>_conv``/``<x>_bn`` pattern.
    """
    return inference_model(model, fold=True)


def inference_model(model, fold: bool = True, precision: str = "float32"):
    """An inference-only copy of ``model``: batch norms folded (``fold``, where the
    model follows the ``<x>_conv``/``<x>_bn`` pattern) and computing in ``precision``
    (``"float32"`` or ``"bfloat16"``). Returns ``model`` itself when neither applies.
    """
    import keras

    pairs = fold_pairs(model) if fold else None
    policy = "mixed_bfloat16" if precision == "bfloat16" else None
    if pairs is None and policy is None:
        return model
    pairs = pairs or {}
    identity = _identity_layer()

    def clone(layer):
        config = layer.get_config()
        if layer.name in pairs:
            config["use_bias"] = True
        elif _kind(layer) == "BatchNormalization" and pairs:
            return identity(name=layer.name, dtype=policy)
        if policy and _kind(layer) != "InputLayer" and "dtype" in config:
            config["dtype"] = policy
        return type(layer).from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        target = copy.get_layer(layer.name)
        if layer.name in pairs:
            target.set_weights(_folded_conv_weights(layer, model.get_layer(pairs[layer.name])))
        elif layer.weights and not (pairs and _kind(layer) == "BatchNormalization"):
            target.set_weights(layer.get_weights())
    log.info("inference copy of %s: %d batch norms folded, %s", model.name, len(pairs),
             precision)
    return copy
