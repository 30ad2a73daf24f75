"""A trained head ready to run: one runtime per head kind, behind one interface.

Every runtime answers the same four things, so nothing above it branches on the kind:

* ``input_dim``: the feature length it takes;
* ``predict(videos, batch_size)``: per video, the ``(T, C)`` frame probabilities and
  the ``(C,)`` clip probabilities of a clip-level head (None for a per-frame head), in
  numpy;
* ``clip_probabilities(f)``: Keras ops from features ``[K, D]`` to the head's own clip
  probabilities ``[C]`` (a per-frame head: the mean of its frame probabilities), for
  self-contained exports; ``clip_aggregator`` names the aggregator it computes;
* ``logit_function()``: a differentiable function from features ``(T, D)`` to the logits
  of the head's own answer (``(T, C)`` per frame, ``(1, C)`` per clip), for Grad-CAM.

The neural runtimes (``FrameRuntime``, ``TemporalRuntime``) predict with the numpy copy
of the head (``vidcore.models.numpy_heads``) when the file is exactly a head vidcore
builds, so a verdict imports no TensorFlow; their ``keras_model`` (exports, gradients,
and predictions of any other file) is loaded from the run on first use, in safe mode.
"""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vidcore.errors import RunError
from vidcore.models.linear import ROOT_EPS, LinearHead
from vidcore.models.scaling import Scaling, chunks, pad_sequences

Probabilities = tuple[np.ndarray, np.ndarray | None]  # (frame probs, clip probs or None)


def load_keras(path: Path):
    """``keras.saving.load_model`` in safe mode (never executes code stored in the file),
    with vidcore's custom layers registered.

    Raises:
        ValueError: the file is not a complete ``.keras`` zip.
    """
    if not zipfile.is_zipfile(path):  # keras would say "File not found" for a truncated file
        raise ValueError(f"{Path(path).name} is damaged (not a complete .keras zip file); "
                         "train again or copy the run again")
    import keras

    import vidcore.models.layers  # noqa: F401  (registers the custom layers)

    return keras.saving.load_model(path, compile=False, safe_mode=True)


class LinearRuntime:
    """The linear head: logistic regression on the clip's pooled features (numpy only)."""

    keras_model = None  # nothing to export or differentiate but its arrays
    clip_aggregator = "linear"  # the aggregator that clip_probabilities computes

    def __init__(self, head: LinearHead):
        self.head = head

    @classmethod
    def load(cls, path: Path, scaling_path: Path, run_dir: Path) -> LinearRuntime:
        """From ``model.npz`` (the head standardises its own input: no scaling file)."""
        return cls(LinearHead.load(path))

    @property
    def input_dim(self) -> int:
        """Feature length the head expects (per frame, before pooling)."""
        return self.head.feature_dim

    def predict(self, videos: Sequence, batch_size: int = 64) -> list[Probabilities]:
        """Each frame on its own (the per-frame view), and the pooled clip."""
        return [(self.head.frame_proba(v.features), self.head.clip_proba(v.features))
                for v in videos]

    def clip_probabilities(self, f):
        """Keras ops: softmax of the linear map of the standardised pooled features."""
        from keras import ops

        return ops.softmax(self._logits(f))

    def logit_function(self):
        """features ``(T, D)`` -> ``(1, C)`` logits (Keras ops: differentiable in TF)."""
        from keras import ops

        return lambda f: ops.expand_dims(self._logits(f), 0)

    def _logits(self, f):
        """Keras ops: the clip's ``(C,)`` logits, pooled as the numpy head pools."""
        from keras import ops

        h = self.head
        pooled = ops.mean(f, 0)
        if h.pooling == "mean_std":
            pooled = ops.concatenate([pooled, ops.std(f, 0)], 0)
        pooled = _signed_root_ops(pooled) if h.root else pooled
        return ops.matmul((pooled - h.mean) / h.scale, h.coef.T) + h.intercept


def _signed_root_ops(x):
    """``vidcore.models.linear.signed_root`` in Keras ops (differentiable, also on TF)."""
    from keras import ops

    return ops.sign(x) * (ops.sqrt(ops.abs(x) + ROOT_EPS) - float(np.sqrt(ROOT_EPS)))


class _NeuralRuntime:
    """A Keras head and its feature scaling; numpy predictions when a copy exists."""

    kind = ""  # the HeadSpec kind, and what numpy_heads reads the file as
    clip_layer = ""  # the softmax layer of the head's own answer

    def __init__(self, scaling: Scaling, numpy_head=None, keras_model=None,
                 path: Path | None = None, run_dir: Path | None = None):
        self.scaling, self.numpy_head = scaling, numpy_head
        self._keras, self._path, self._run_dir = keras_model, path, run_dir
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path, scaling_path: Path, run_dir: Path):
        """From ``model.keras`` and ``scaling.npz``: the numpy copy when the file is exactly
        a head vidcore builds (no TensorFlow import: seconds off a fresh process's first
        verdict), else the Keras model in safe mode, now."""
        from vidcore.models import numpy_heads

        fast = numpy_heads.load(path, cls.kind)
        model = None if fast else load_keras(path)
        return cls(Scaling.load(scaling_path), fast, model, path, run_dir)

    @property
    def input_dim(self) -> int:
        """Feature length the head expects."""
        return int(self.scaling.shift.shape[0])

    @property
    def keras_model(self):
        """The head as a Keras model, loaded from the run on first use."""
        with self._lock:
            if self._keras is None and self._path is not None:
                try:
                    self._keras = load_keras(self._path)
                except (OSError, ValueError, KeyError, TypeError) as err:
                    raise RunError(f"cannot load the model of run {self._run_dir}: "
                                   f"{err}") from err
        return self._keras

    def _head(self):
        return self.numpy_head or self.keras_model

    def logit_function(self):
        """features ``(T, D)`` -> logits of the softmax layer ``clip_layer``, differentiable
        (the sub-model up to that layer, then its kernel)."""
        import keras
        import tensorflow as tf

        head = self.keras_model
        layer = head.get_layer(self.clip_layer)
        hidden = keras.Model(head.inputs, layer.input)
        shift, scale = tf.constant(self.scaling.shift), tf.constant(self.scaling.scale)

        def logits(f):
            return self._hidden(hidden, (f - shift) / scale) @ layer.kernel + layer.bias

        return logits


class FrameRuntime(_NeuralRuntime):
    """``frame_mlp``: each frame through the MLP; the clip answer is left to aggregators."""

    kind, clip_layer = "frame", "probs"
    clip_aggregator = "mean"

    def predict(self, videos: Sequence, batch_size: int = 64) -> list[Probabilities]:
        """Frame probabilities of every video (all frames in bounded chunks)."""
        frames = np.concatenate([v.features for v in videos])
        out = np.concatenate([np.asarray(self._head()(self.scaling.apply(c), training=False))
                              for c in chunks(frames)])
        split = np.split(out, np.cumsum([len(v.features) for v in videos])[:-1])
        return [(probs, None) for probs in split]

    def clip_probabilities(self, f):
        """Keras ops: the mean of the frame probabilities (the ``mean`` aggregator)."""
        from keras import ops

        x = (f - self.scaling.shift) / self.scaling.scale
        return ops.mean(self.keras_model(x, training=False), 0)

    @staticmethod
    def _hidden(hidden, x):
        return hidden(x, training=False)


class TemporalRuntime(_NeuralRuntime):
    """``temporal_conv``: padded, masked batches of ordered clips; clip and frame outputs."""

    kind, clip_layer = "temporal", "clip"
    clip_aggregator = "temporal"

    def predict(self, videos: Sequence, batch_size: int = 64) -> list[Probabilities]:
        """Clip and frame probabilities, ``batch_size`` clips per call."""
        results = []
        for i in range(0, len(videos), batch_size):
            batch = videos[i:i + batch_size]
            x, mask = pad_sequences([v.features for v in batch], self.scaling)
            out = self._head()({"features": x, "mask": mask}, training=False)
            clip, frames = np.asarray(out["clip"]), np.asarray(out["frames"])
            results += [(frames[j, :len(v.features)], clip[j]) for j, v in enumerate(batch)]
        return results

    def clip_probabilities(self, f):
        """Keras ops: the clip output on the whole clip as one unpadded sequence."""
        from keras import ops

        x = ops.expand_dims((f - self.scaling.shift) / self.scaling.scale, 0)
        out = self.keras_model({"features": x, "mask": ops.ones_like(x[:, :, 0])},
                               training=False)
        return out["clip"][0]

    @staticmethod
    def _hidden(hidden, x):
        import tensorflow as tf

        return hidden({"features": x[None], "mask": tf.ones_like(x[None, :, 0])},
                      training=False)


RUNTIMES = {"frame": FrameRuntime, "temporal": TemporalRuntime, "linear": LinearRuntime}
