"""Trained heads run in numpy: a verdict without importing TensorFlow.

The heads are small (the temporal head of the demo model is 0.9 M weights, eight
frames a clip), but loading a ``.keras`` file imports Keras and so TensorFlow: 6-10 s
on a 2-core machine, far more than the whole prediction. With the backbone on LiteRT
(``vidcore.models.engines``) the head was the only reason a fresh ``vidcore predict``
paid for TensorFlow. This module reads the same ``.keras`` file (a zip of
``config.json`` and ``model.weights.h5``; JSON and HDF5 arrays, nothing executed) and
computes the two Keras heads vidcore trains, ``frame_mlp`` and ``temporal_conv``, with
the same maths. It accepts a file only when its layer list is exactly the one
``vidcore.models.heads`` builds (classes, names, activations, padding) and every weight
has the expected shape; anything else returns None and the caller loads Keras.
A test checks both heads against Keras to 1e-5.

Keras stores weights by object path (``layers/dense_1/vars/0``), numbered per layer
class in the order of the model's layer list; that is how names are mapped here.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

TEMPORAL_LAYERS = [("InputLayer", "features"), ("Dropout", None), ("Dense", "embed"),
                   ("InputLayer", "mask"), ("ApplyMask", "embed_mask"),
                   ("RelativePosition", "position"), ("Concatenate", "with_position"),
                   ("Conv1D", "tconv_0"), ("ApplyMask", "tconv_0_mask"),
                   ("Conv1D", "tconv_1"), ("ApplyMask", "tconv_1_mask"),
                   ("MaskedPooling", "pool"), ("Dropout", None), ("Dropout", None),
                   ("Dense", "clip"), ("Dense", "frames")]
ACTIVATIONS = {"embed": "relu", "clip": "softmax", "frames": "softmax", "probs": "softmax"}


def _activation(name: str) -> str | None:
    """The activation vidcore builds a Dense layer with (hidden ``dense_<i>``: relu)."""
    return ACTIVATIONS.get(name) or ("relu" if name.startswith("dense_") else None)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("conv1_d", "conv1d")


def _read(path: Path) -> tuple[list[dict], dict[str, list[np.ndarray]]] | None:
    """The layer configs and the weights of each layer (by layer name), or None."""
    import h5py

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        blob = archive.read("model.weights.h5")
    layers = config.get("config", {}).get("layers", [])
    seen: dict[str, int] = {}
    weights = {}
    with h5py.File(io.BytesIO(blob), "r") as h5:
        for layer in layers:
            kind = _snake(layer["class_name"])
            count = seen.get(kind, 0)
            seen[kind] = count + 1
            key = f"layers/{kind}" + (f"_{count}" if count else "") + "/vars"
            group = h5.get(key)
            if group is None:
                return None
            weights[layer["config"]["name"]] = [np.asarray(group[str(i)], np.float32)
                                                for i in range(len(group))]
    return layers, weights


def _matches(layers: list[dict], expected: list[tuple[str, str | None]]) -> bool:
    if len(layers) != len(expected):
        return False
    for layer, (kind, name) in zip(layers, expected, strict=True):
        cfg = layer["config"]
        if layer["class_name"] != kind or (name is not None and cfg["name"] != name):
            return False
        if kind == "Dense" and cfg.get("activation") != _activation(cfg["name"]):
            return False
        if kind == "Conv1D" and (cfg.get("padding") != "same" or cfg.get("activation") != "relu"
                                 or cfg.get("strides") not in ([1], 1, (1,))):
            return False
    return True


def _frame_layers(layers: list[dict]) -> list[tuple[str, str | None]]:
    hidden = (len(layers) - 2) // 2
    body = []
    for i in range(hidden):
        body += [("Dense", f"dense_{i}"), ("Dropout", f"dropout_{i}")]
    return [("InputLayer", "features"), *body, ("Dense", "probs")]


def load(path: str | Path, kind: str):
    """A numpy head for a ``.keras`` file of head ``kind`` (``"frame"`` or
    ``"temporal"``), or None when the file is not exactly what vidcore builds."""
    try:
        read = _read(Path(path))
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
        log.info("numpy head: cannot read %s (%s); Keras will load it", path, err)
        return None
    if read is None:
        return None
    layers, weights = read
    if kind == "temporal" and _matches(layers, TEMPORAL_LAYERS):
        head = TemporalConvHead(weights, layers)
    elif kind == "frame" and _matches(layers, _frame_layers(layers)):
        head = FrameMLPHead(weights, layers)
    else:
        return None
    return head if head.shapes_fit() else None


def _dense(x: np.ndarray, w: list[np.ndarray], activation: str) -> np.ndarray:
    y = x @ w[0] + w[1]
    if activation == "relu":
        return np.maximum(y, 0.0)
    y = np.exp(y - y.max(-1, keepdims=True))
    return y / y.sum(-1, keepdims=True)


def _conv1d_same(x: np.ndarray, w: list[np.ndarray], dilation: int) -> np.ndarray:
    """Keras ``Conv1D(padding="same", dilation_rate=d)`` then ReLU, on ``(B, T, C)``."""
    kernel, bias = w
    taps = kernel.shape[0]
    pad = dilation * (taps - 1)
    left = pad // 2
    padded = np.pad(x, ((0, 0), (left, pad - left), (0, 0)))
    steps = x.shape[1]
    out = sum(padded[:, j * dilation:j * dilation + steps] @ kernel[j] for j in range(taps))
    return np.maximum(out + bias, 0.0)


class FrameMLPHead:
    """``frame_mlp`` in numpy: ``(B, D)`` scaled features -> ``(B, C)`` probabilities."""

    def __init__(self, weights: dict, layers: list[dict]):
        self.dense = [(cfg["config"]["name"], weights[cfg["config"]["name"]])
                      for cfg in layers if cfg["class_name"] == "Dense"]

    def shapes_fit(self) -> bool:
        """Each layer's kernel takes the previous layer's output."""
        ok = all(len(w) == 2 and w[0].shape[1] == w[1].shape[0] for _, w in self.dense)
        return ok and all(a[1][0].shape[1] == b[1][0].shape[0]
                          for a, b in zip(self.dense, self.dense[1:], strict=False))

    def __call__(self, x, training: bool = False) -> np.ndarray:
        """Probabilities of each row of ``x``."""
        x = np.asarray(x, np.float32)
        for name, w in self.dense:
            x = _dense(x, w, _activation(name))
        return x


class TemporalConvHead:
    """``temporal_conv`` in numpy: ``{"features": (B, T, D), "mask": (B, T)}`` ->
    ``{"clip": (B, C), "frames": (B, T, C)}`` (see ``heads.build_temporal_conv``)."""

    def __init__(self, weights: dict, layers: list[dict]):
        self.w = weights
        cfg = {layer["config"]["name"]: layer["config"] for layer in layers}
        self.dilations = [int(np.ravel(cfg[f"tconv_{i}"]["dilation_rate"])[0]) for i in (0, 1)]

    def shapes_fit(self) -> bool:
        """Every weight has the shape the architecture implies."""
        w = self.w
        try:
            width = w["embed"][0].shape[1]
            return (w["frames"][0].shape[0] == width and w["tconv_0"][0].shape[1] == width + 1
                    and w["tconv_1"][0].shape[1:] == (width, width)
                    and w["clip"][0].shape[0] == 2 * width
                    and w["clip"][0].shape[1] == w["frames"][0].shape[1])
        except (KeyError, IndexError):
            return False

    def __call__(self, inputs: dict, training: bool = False) -> dict:
        """Clip and per-frame probabilities (padding masked out as Keras does)."""
        x = np.asarray(inputs["features"], np.float32)
        valid = np.asarray(inputs["mask"], np.float32)
        m = valid[..., None]
        h = _dense(x, self.w["embed"], "relu") * m
        frames = _dense(h, self.w["frames"], "softmax")
        index = np.cumsum(valid, axis=1) - 1.0
        last = np.maximum(valid.sum(1, keepdims=True) - 1.0, 1.0)
        t = np.concatenate([h, (index / last * valid)[..., None]], axis=-1)
        for i, dilation in enumerate(self.dilations):
            t = _conv1d_same(t, self.w[f"tconv_{i}"], dilation) * m
        count = np.maximum(m.sum(1), 1.0)
        pooled = np.concatenate([(t * m).sum(1) / count, (t * m - (1.0 - m) * 1e9).max(1)], -1)
        return {"clip": _dense(pooled, self.w["clip"], "softmax"), "frames": frames}
