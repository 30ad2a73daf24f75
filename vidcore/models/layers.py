"""Custom Keras layers of the heads, registered so saved models load with ``safe_mode=True``.

Sequences arrive padded to a common length with a float mask ``valid`` of shape
``(B, T)`` (1 for a real frame, 0 for padding). The layers below keep padding from
leaking into results, so a clip gets the same output whatever length it was padded
to. They are plain ``Layer`` subclasses: no ``Lambda`` layer, so loading never
deserializes Python code. The mask argument is called ``valid``, not ``mask``: Keras
gives a ``mask`` argument a meaning of its own (implicit mask propagation), which
breaks shape inference here.
"""

from __future__ import annotations

import keras
from keras import ops


def _expand(valid, like):
    return ops.expand_dims(ops.cast(valid, like.dtype), -1)


@keras.saving.register_keras_serializable(package="vidcore")
class ApplyMask(keras.layers.Layer):
    """``x * mask``: zero the padded time steps of ``(B, T, C)`` values."""

    def call(self, x, valid):
        return x * _expand(valid, x)

    def compute_output_shape(self, x_shape, valid_shape=None):
        return x_shape


@keras.saving.register_keras_serializable(package="vidcore")
class MaskedPooling(keras.layers.Layer):
    """Masked mean and max over time, concatenated: ``(B, T, C) -> (B, 2C)``."""

    def call(self, x, valid):
        m = _expand(valid, x)
        count = ops.maximum(ops.sum(m, axis=1), 1.0)
        mean = ops.sum(x * m, axis=1) / count
        # Padding must never win the max: push it far below any real value.
        peak = ops.max(x * m - (1.0 - m) * 1e9, axis=1)
        return ops.concatenate([mean, peak], axis=-1)

    def compute_output_shape(self, x_shape, valid_shape=None):
        return (x_shape[0], 2 * x_shape[-1])


@keras.saving.register_keras_serializable(package="vidcore")
class RelativePosition(keras.layers.Layer):
    """Where each real frame lies in its clip, 0 (first) to 1 (last): ``(B, T) -> (B, T, 1)``.

    Relative rather than absolute, so a clip sampled at 8 or at 30 frames gives the
    same positions to its beginning and its end; padding gets 0.
    """

    def call(self, valid):
        valid = ops.cast(valid, "float32")
        index = ops.cumsum(valid, axis=1) - 1.0
        last = ops.maximum(ops.sum(valid, axis=1, keepdims=True) - 1.0, 1.0)
        return ops.expand_dims(index / last * valid, -1)

    def compute_output_shape(self, valid_shape):
        return (*valid_shape, 1)


CUSTOM_OBJECTS = {cls.__name__: cls for cls in (ApplyMask, MaskedPooling, RelativePosition)}
