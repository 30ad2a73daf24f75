"""Why a model said what it said about one clip: heatmaps and frame contributions.

Two answers per prediction, for the predicted class or any class the caller picks:

* **Where** (``heatmaps``): Grad-CAM per sampled frame. The backbone (float32, plain
  Keras, batch norms unfolded: the gradient graph, not the fast inference copy) and
  the trained head are joined into one differentiable graph; the gradient of the
  class's logit (pre-softmax, so a confident answer does not saturate it) with
  respect to the backbone's last convolutional block gives one weight per channel,
  and the ReLU of the weighted channel sum is the map. For a temporal or linear head
  the logit is the clip's, so each frame's map shows where in that frame the clip
  verdict found its evidence; for a per-frame head it is the frame's own logit. Maps
  are upsampled to the frame as decoded and scaled to [0, 1] per frame.
* **When** (``contributions``): leave one frame out. For each sampled frame the head
  scores the clip again without it (the fast-path features ``predict`` used, so the
  numbers belong to the same answer), and the contribution is how far the head's own
  aggregator's score for the class drops (per-frame heads: the ``mean`` aggregator's,
  since a vote share moves in whole frames), in log-odds: a sure answer (99.99%) still
  shows which frames hold it up, where a drop in probability would read 0 for every
  frame. Positive when the frame supports the class, negative when it speaks against
  it; ``shares`` divides them by their absolute sum. In probability (``log_odds=False``)
  the ``mean`` aggregator's drop is exactly ``(p_t - mean) / (T - 1)``, summing to 0.

The graph is built on demand (``Explainer(model)``, a second or two) and reusable.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vidcore.atomic import write_with
from vidcore.data.video import resize_frame
from vidcore.errors import InputError
from vidcore.evaluate import aggregate
from vidcore.features import VideoFeatures
from vidcore.models.loading import TrainedModel

# The softmax Dense layer that gives each Keras head's answer, by head kind.
_POOLING = ("GlobalAveragePooling2D", "Flatten")
CHUNK = 8  # frames whose gradient graph is held at once


@dataclass
class Explanation:
    """Where and when the evidence for one class lies in one clip.

    Attributes:
        class_name: the class explained.
        label: its index.
        aggregator: whose score the contributions move (``contribution_aggregator``).
        score: that aggregator's score for the class on all frames.
        heatmaps: ``(T, H, W)`` float32 in [0, 1], each frame's size as decoded.
        contributions: ``(T,)`` drop of ``score``'s log-odds when the frame is left out.
        timestamps: ``(T,)`` seconds.
        frame_ids: ``(T,)`` frame numbers.
    """

    class_name: str
    label: int
    aggregator: str
    score: float
    heatmaps: np.ndarray = field(repr=False)
    contributions: np.ndarray
    timestamps: np.ndarray
    frame_ids: np.ndarray

    def ranking(self) -> list[int]:
        """Frame positions, the most supporting first."""
        return [int(i) for i in np.argsort(-self.contributions, kind="stable")]

    def shares(self) -> np.ndarray:
        """Contributions over their absolute sum (all 0 when no frame matters)."""
        total = float(np.abs(self.contributions).sum())
        return self.contributions / total if total > 0 else np.zeros_like(self.contributions)

    def to_dict(self, files: list[dict] | None = None) -> dict:
        """Plain dict for JSON (heatmaps left out; ``files`` adds each frame's file names)."""
        frames = [{"time": round(float(t), 4), "frame_id": int(f),
                   "contribution": round(float(c), 6), "share": round(float(sh), 4)}
                  for t, f, c, sh in zip(self.timestamps, self.frame_ids, self.contributions,
                                         self.shares(), strict=True)]
        for frame, names in zip(frames, files or [], strict=False):
            frame.update(names)
        return {"class": self.class_name, "aggregator": self.aggregator,
                "score": round(self.score, 6), "frames": frames}


class Explainer:
    """Backbone and head of one trained model as one differentiable float32 graph.

    Build once per model (the app caches it); ``explain`` is thread-safe.

    Raises:
        InputError: the backbone has no convolutional map before its pooling.
    """

    def __init__(self, model: TrainedModel):
        import tensorflow as tf

        from vidcore.models.backbones import create_backbone, get_spec

        self.model = model
        self.size = get_spec(model.config["backbone"]).input_size
        spec = model.feature_spec
        backbone = create_backbone(spec.backbone, spec.weights)
        self._trunk, self._pool = split_backbone(backbone)
        self._dim = int(backbone.output_shape[-1])
        self._logits = model.runtime.logit_function()  # of the head's own answer
        self._lock = threading.Lock()
        frames = tf.TensorSpec([None, self.size, self.size, 3], tf.float32)
        self._features = tf.function(lambda x: self._pool(self._trunk(x, training=False)),
                                     input_signature=[frames], reduce_retracing=True)
        sig = [frames, tf.TensorSpec([None, self._dim], tf.float32),
               tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)]
        self._cam = tf.function(self._grad_cam, input_signature=sig, reduce_retracing=True)

    def _grad_cam(self, frames, others, start, label):
        """Maps of ``frames``, the clip's frames ``start..`` (the other frames' features
        in ``others``, held constant: the gradient graph of a chunk only)."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            conv = self._trunk(frames, training=False)
            tape.watch(conv)
            feats = tf.concat([others[:start], self._pool(conv), others[start:]], 0)
            target = tf.reduce_sum(self._logits(feats)[..., label])
        grads = tape.gradient(target, conv)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        return tf.nn.relu(tf.reduce_sum(weights * conv, axis=-1))

    def heatmaps(self, images: np.ndarray, label: int) -> np.ndarray:
        """Grad-CAM maps ``(T, H, W)`` in [0, 1] of uint8 RGB frames ``(T, H, W, 3)``.

        At most ``CHUNK`` frames' gradient graph is held at once, so a 120-frame clip
        needs the memory of 8 (plus every frame's feature vector).
        """
        small = np.stack([resize_frame(im, (self.size, self.size)) for im in images])
        small = small.astype(np.float32)
        with self._lock:
            feats = (np.concatenate([self._features(small[i:i + CHUNK]).numpy()
                                     for i in range(0, len(small), CHUNK)])
                     if len(small) > CHUNK else np.zeros((0, self._dim), np.float32))
            cams = np.concatenate([
                self._cam(small[i:i + CHUNK], np.delete(feats, np.s_[i:i + CHUNK], 0),
                          np.int32(i), np.int32(label)).numpy()
                for i in range(0, len(small), CHUNK)])
        return _upsampled(cams, images.shape[1:3])

    def explain(self, images: np.ndarray, feats: VideoFeatures,
                class_name: str | None = None) -> Explanation:
        """Heatmaps and contributions for one clip.

        Args:
            images: the sampled frames as decoded, uint8 RGB ``(T, H, W, 3)``.
            feats: their features as ``predict`` computed them.
            class_name: the class to explain; None for the head's own answer.

        Raises:
            InputError: unknown class name, or frames and features that disagree.
        """
        if len(images) != len(feats):
            raise InputError(f"{len(images)} frames but {len(feats)} feature rows")
        label, aggregator = self._label(feats, class_name), contribution_aggregator(self.model)
        scores = contributions(self.model, feats, label, aggregator)
        return Explanation(self.model.classes[label], label, aggregator, scores[0],
                           self.heatmaps(np.asarray(images), label), scores[1],
                           np.asarray(feats.timestamps), np.asarray(feats.frame_ids))

    def _label(self, feats: VideoFeatures, class_name: str | None) -> int:
        classes = list(self.model.classes)
        if class_name is None:
            return aggregate(self.model.predict_features(feats), self.model.primary).label
        if class_name not in classes:
            raise InputError(f"unknown class {class_name!r}; this model knows "
                             f"{', '.join(classes)}")
        return classes.index(class_name)


def _upsampled(cams: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Coarse maps ``(T, h, w)`` resized to ``size`` (height, width), each scaled to [0, 1]."""
    height, width = size
    out = np.empty((len(cams), height, width), np.float32)
    for i, cam in enumerate(cams):
        big = cv2.resize(cam, (width, height), interpolation=cv2.INTER_LINEAR)
        peak = float(big.max())
        out[i] = np.clip(big / peak, 0.0, 1.0) if peak > 0 else 0.0
    return out


def split_backbone(backbone):
    """``(trunk, pool)``: frames -> last convolutional map, and that map -> features.

    Works for every registered backbone: Lite0 is flat, ``keras.applications`` ones
    are wrapped around a nested core model ending in (or followed by) the pooling.

    Raises:
        InputError: no pooling layer ends the model.
    """
    import keras

    layers = _flat_layers(backbone)
    ends = [i for i, layer in enumerate(layers) if type(layer).__name__ in _POOLING]
    if not ends:
        raise InputError(f"backbone {backbone.name} has no pooling after a convolutional "
                         "map; Grad-CAM cannot explain it")
    pool = layers[ends[-1]]
    owner = next(m for m in [backbone, *_nested(backbone)] if pool in m.layers)
    if owner is backbone:
        return keras.Model(backbone.inputs, pool.input), pool
    # keras.applications: input -> preprocessing -> core (-> Flatten)
    core_trunk = keras.Model(owner.inputs, pool.input)
    x = backbone.inputs[0]
    for layer in backbone.layers[1:]:
        x = core_trunk(x) if layer is owner else layer(x)
        if layer is owner:
            break
    return keras.Model(backbone.inputs, x), pool


def _nested(model) -> list:
    return [layer for layer in model.layers if hasattr(layer, "layers")]


def _flat_layers(model) -> list:
    out = []
    for layer in model.layers:
        out += _flat_layers(layer) if hasattr(layer, "layers") else [layer]
    return out


def contribution_aggregator(model: TrainedModel) -> str:
    """The aggregator contributions are measured on: the head's own one, except ``mean``
    for per-frame heads (a vote share moves in steps of whole frames, or not at all)."""
    return "mean" if model.spec.kind == "frame" else model.primary


def contributions(model: TrainedModel, feats: VideoFeatures, label: int,
                  aggregator: str | None = None, log_odds: bool = True
                  ) -> tuple[float, np.ndarray]:
    """Leave-one-frame-out: the aggregator's score for ``label`` on all frames, and per
    frame how far it drops without that frame (a one-frame clip: down to chance, 1/C).

    Args:
        model: the trained model.
        feats: the clip's features.
        label: the class.
        aggregator: default ``contribution_aggregator(model)``.
        log_odds: measure drops in log-odds (default) or in probability.
    """
    aggregator = aggregator or contribution_aggregator(model)
    full = float(aggregate(model.predict_features(feats), aggregator).scores[label])
    n = len(feats)
    if n == 1:
        left = np.array([1.0 / len(model.classes)])
    else:
        keep = [np.delete(np.arange(n), t) for t in range(n)]
        rest = model.predict_many([VideoFeatures(feats.features[k], feats.timestamps[k],
                                                 feats.frame_ids[k]) for k in keep])
        left = np.array([aggregate(out, aggregator).scores[label] for out in rest], np.float64)
    scale = _log_odds if log_odds else np.asarray
    return full, (scale(full) - scale(left)).astype(np.float64)


def _log_odds(p):
    # float32 probabilities resolve about 1e-7 next to 1: clip there, not at infinity
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def overlay(image: np.ndarray, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """An RGB frame with its heatmap blended over it (JET colours, weighted by the map,
    so cold areas keep the frame visible).

    Args:
        image: uint8 RGB ``(H, W, 3)``.
        heatmap: ``(H, W)`` in [0, 1].
        opacity: 0 (frame only) to 1 (heat fully opaque where the map is 1).
    """
    colours = cv2.applyColorMap(np.uint8(np.clip(heatmap, 0, 1) * 255), cv2.COLORMAP_JET)
    colours = cv2.cvtColor(colours, cv2.COLOR_BGR2RGB).astype(np.float32)
    weight = (float(np.clip(opacity, 0, 1)) * (0.25 + 0.75 * heatmap))[..., None]
    return np.uint8(np.clip(image * (1 - weight) + colours * weight + 0.5, 0, 255))


def save(explanation: Explanation, images: np.ndarray, out_dir: str | os.PathLike,
         opacity: float = 0.5) -> list[dict]:
    """Write per frame ``frame_XX.png`` (overlay) and ``frame_XX.npy`` (raw map), atomically.

    Returns:
        Per frame ``{"overlay": name, "heatmap": name}`` (names relative to ``out_dir``).

    Raises:
        InputError: ``out_dir`` exists and is not a folder, or cannot be created.
    """
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot write explanations into {out}: {err.strerror or err}; "
                         "give a folder you can write to") from err
    files = []
    for i, (image, heat) in enumerate(zip(images, explanation.heatmaps, strict=True)):
        stem = f"frame_{i:02d}"
        rgb = overlay(image, heat, opacity)
        png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()
        write_with(out / f"{stem}.png", lambda f, data=png: f.write(data))
        write_with(out / f"{stem}.npy", lambda f, h=heat: np.save(f, h, allow_pickle=False))
        files.append({"overlay": f"{stem}.png", "heatmap": f"{stem}.npy"})
    return files


def explain_video(model: TrainedModel, video: str | os.PathLike, class_name: str | None = None,
                  explainer: Explainer | None = None, top_k: int = 5):
    """Predict one video and explain the answer (or ``class_name``).

    Args:
        model: a loaded model.
        video: the video file.
        class_name: the class to explain; None for the model's own answer.
        explainer: an ``Explainer(model)`` to reuse (building one takes a second or two).
        top_k: classes listed per frame in the prediction.

    Returns:
        ``(prediction, explanation, images)``: the ``Prediction``, the ``Explanation``,
        and the sampled frames as decoded.

    Raises:
        InputError: unreadable video or unknown class.
    """
    from vidcore.predict import predict_with_frames

    prediction, frames, feats = predict_with_frames(model, video, top_k)
    explainer = explainer or Explainer(model)
    return prediction, explainer.explain(frames.images, feats, class_name), frames.images
