"""Classification heads on frame features, and loading a trained one back from its run.

Three kinds of head, one registry (``HEADS``):

* ``frame_mlp`` (kind ``frame``), the reference head: each frame on its own through
  Dense 1024-512-256-128 (ReLU, Dropout 0.5 after each) and a softmax; trained on
  frames that each carry their clip's label. A clip label needs an aggregator
  (``mode`` vote or ``mean`` probability, see ``vidcore.evaluate``).
* ``temporal_conv`` (kind ``temporal``): reads the ordered frame features of a clip
  (any length, padded and masked) and outputs one clip prediction. Frames are
  embedded, given their relative position, passed through two temporal
  convolutions and pooled (masked mean and max). Because the convolutions see
  neighbouring frames in order, a clip and its time-reverse give different
  features, which no per-frame model can achieve. It also has a per-frame output
  (``frames``: a softmax on the frame embeddings, trained jointly with weight 0.5
  on the clip label) so that every head can show predictions over time and be
  scored with ``mode``/``mean`` too; that output is by construction blind to order.
* ``linear`` (kind ``linear``): logistic regression (scikit-learn) on the mean of a
  clip's frame features, standardised: the cheap honest baseline. Stored as plain
  arrays in ``model.npz``; applied to single frames for the per-frame view.

Keras heads are saved as ``model.keras`` and loaded with ``safe_mode=True``; their
custom layers live in ``vidcore.models.layers``, so no Lambda layer exists to load.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidcore import runs
from vidcore.atomic import write_with
from vidcore.errors import InputError, RunError
from vidcore.models import numpy_heads
from vidcore.registry import lookup

log = logging.getLogger(__name__)

FRAME_UNITS = (1024, 512, 256, 128)  # the reference head
CHUNK_VALUES = 1 << 22  # values per processing chunk: ~32 MB as float64, any feature size


@dataclass(frozen=True)
class HeadSpec:
    """What a head is and how to build it.

    Attributes:
        name: registry key.
        kind: ``frame`` (per-frame classifier), ``temporal`` (whole clip, ordered) or
            ``linear`` (scikit-learn on mean-pooled features).
        aggregators: the clip-level answers it reports, its own (primary) one first.
        description: one line for the UI.
        defaults: default hyper-parameters of the builder (``dropout``, ``width``).
        builder: ``builder(input_dim, num_classes, **params)`` -> ``keras.Model``;
            None for the linear head.
    """

    name: str
    kind: str
    aggregators: tuple[str, ...]
    description: str
    defaults: dict = field(default_factory=dict, compare=False)
    builder: Callable | None = field(default=None, repr=False, compare=False)

    @property
    def primary(self) -> str:
        """The head's own aggregator."""
        return self.aggregators[0]


# ---------------------------------------------------------------- builders


def build_frame_mlp(input_dim: int, num_classes: int, units: Sequence[int] = FRAME_UNITS,
                    dropout: float = 0.5):
    """The reference per-frame MLP: ``(B, D)`` features -> ``(B, C)`` probabilities.

    Args:
        input_dim: feature length D.
        num_classes: C.
        units: hidden layer widths (reference: 1024, 512, 256, 128).
        dropout: rate of the Dropout after each hidden layer (reference: 0.5).
    """
    import keras

    inputs = keras.Input((input_dim,), name="features")
    x = inputs
    for i, width in enumerate(units):
        x = keras.layers.Dense(width, activation="relu", name=f"dense_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="frame_mlp")


def build_temporal_conv(input_dim: int, num_classes: int, width: int = 256,
                        dropout: float = 0.3, kernel: int = 3):
    """Temporal convolution head over an ordered, masked sequence of frame features.

    Inputs ``{"features": (B, T, D), "mask": (B, T)}``; outputs
    ``{"clip": (B, C), "frames": (B, T, C)}`` probabilities.

    Args:
        input_dim: feature length D.
        num_classes: C.
        width: channels of the embedding and the convolutions.
        dropout: dropout rate on inputs, embeddings and the pooled vector.
        kernel: temporal kernel size of both convolutions (the second is dilated by 2).
    """
    import keras

    from vidcore.models.layers import ApplyMask, MaskedPooling, RelativePosition

    L = keras.layers
    feats = keras.Input((None, input_dim), name="features")
    mask = keras.Input((None,), name="mask")
    h = L.Dense(width, activation="relu", name="embed")(L.Dropout(dropout)(feats))
    h = ApplyMask(name="embed_mask")(h, mask)
    frames = L.Dense(num_classes, activation="softmax", name="frames")(L.Dropout(dropout)(h))
    t = L.Concatenate(name="with_position")([h, RelativePosition(name="position")(mask)])
    for i, dilation in enumerate((1, 2)):
        t = L.Conv1D(width, kernel, padding="same", dilation_rate=dilation,
                     activation="relu", name=f"tconv_{i}")(t)
        t = ApplyMask(name=f"tconv_{i}_mask")(t, mask)
    pooled = L.Dropout(dropout)(MaskedPooling(name="pool")(t, mask))
    clip = L.Dense(num_classes, activation="softmax", name="clip")(pooled)
    return keras.Model({"features": feats, "mask": mask}, {"clip": clip, "frames": frames},
                       name="temporal_conv")


HEADS: dict[str, HeadSpec] = {
    spec.name: spec
    for spec in (
        HeadSpec("frame_mlp", "frame", ("mode", "mean"),
                 "reference per-frame MLP 1024-512-256-128, clip label by vote",
                 {"dropout": 0.5}, build_frame_mlp),
        HeadSpec("temporal_conv", "temporal", ("temporal", "mode", "mean"),
                 "temporal convolutions over the ordered frames: tells time-reversed actions "
                 "apart", {"dropout": 0.3, "width": 256}, build_temporal_conv),
        HeadSpec("linear", "linear", ("linear", "mode", "mean"),
                 "logistic regression on mean-pooled features (scikit-learn baseline)"),
    )
}


def list_heads() -> list[str]:
    """Registered head names."""
    return list(HEADS)


def get_head(name: str) -> HeadSpec:
    """The spec of head ``name``.

    Raises:
        InputError: unknown name (the message lists the valid ones).
    """
    return lookup(HEADS, name, "head")


def create_head(name: str, input_dim: int, num_classes: int, **params):
    """Build a Keras head by name.

    Args:
        name: a registered neural head (``frame_mlp``, ``temporal_conv``).
        input_dim: feature length D.
        num_classes: number of classes.
        **params: builder options (see ``HeadSpec.defaults``); None values use defaults.

    Raises:
        InputError: unknown head or option, or the linear head (not a Keras model).
    """
    spec = get_head(name)
    if spec.builder is None:
        raise InputError(f"head {name!r} is not a Keras model; fit it with LinearHead.fit")
    params = {k: v for k, v in params.items() if v is not None}
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        raise InputError(f"head {name!r} takes {', '.join(spec.defaults)}; "
                         f"not {', '.join(unknown)}")
    return spec.builder(input_dim, num_classes, **{**spec.defaults, **params})


# ---------------------------------------------------------------- feature scaling


@dataclass(frozen=True)
class Scaling:
    """``(x - shift) / scale`` applied to features before a head.

    Attributes:
        kind: ``train_max`` (divide by the training maximum, the reference recipe),
            ``standard`` (per-dimension mean and std of training frames) or ``none``.
        shift: subtracted first (0 for ``train_max``).
        scale: divided by next.
    """

    kind: str
    shift: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, kind: str | None, frames: np.ndarray) -> Scaling:
        """Fit on training frames ``(N, D)`` (float16 is fine: sums are float64, chunked).

        Args:
            kind: ``train_max``, ``standard``, or None / ``none`` for identity.
            frames: every training frame's features.
        """
        dim = frames.shape[1]
        if kind in (None, "none"):
            return cls("none", np.zeros(dim, np.float32), np.ones(dim, np.float32))
        if kind == "train_max":
            peak = max(float(np.max(chunk)) for chunk in _chunks(frames))
            return cls(kind, np.zeros(dim, np.float32), np.full(dim, peak or 1.0, np.float32))
        if kind == "standard":
            mean, std = _mean_std(frames)
            # A near-constant dimension must not explode on test data: floor its std
            # at a small fraction of the typical one.
            std = np.maximum(std, 1e-2 * float(np.mean(std)) + 1e-8)
            return cls(kind, mean.astype(np.float32), std.astype(np.float32))
        raise InputError(f"unknown feature scaling {kind!r}; use train_max, standard or none")

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Scaled float32 copy of ``x`` (any leading shape, last axis D)."""
        return (np.asarray(x, np.float32) - self.shift) / self.scale

    def save(self, path: str | os.PathLike) -> None:
        """Write ``scaling.npz`` atomically (plain arrays, no pickle)."""
        write_with(path, lambda f: np.savez(f, kind=np.array(self.kind), shift=self.shift,
                                            scale=self.scale))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Scaling:
        """Read ``scaling.npz`` with ``allow_pickle=False``."""
        with np.load(path, allow_pickle=False) as data:
            return cls(str(data["kind"]), data["shift"], data["scale"])


def _chunks(frames: np.ndarray):
    """Row blocks of a large ``(N, D)`` array, so float copies stay small (VGG16: D=25,088)."""
    rows = max(1, CHUNK_VALUES // max(1, frames.shape[1]))
    for i in range(0, len(frames), rows):
        yield frames[i:i + rows]


def _mean_std(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = np.zeros(frames.shape[1], np.float64)
    squares = np.zeros_like(total)
    for chunk in _chunks(frames):
        chunk = chunk.astype(np.float64)
        total += chunk.sum(0)
        squares += (chunk**2).sum(0)
    mean = total / len(frames)
    return mean, np.sqrt(np.maximum(squares / len(frames) - mean**2, 0.0))


# ---------------------------------------------------------------- the linear head


@dataclass(frozen=True)
class LinearHead:
    """Multinomial logistic regression on standardised mean-pooled features, as arrays.

    Attributes:
        coef: ``(C, D)`` weights.
        intercept: ``(C,)`` biases.
        mean: ``(D,)`` standardisation mean.
        scale: ``(D,)`` standardisation std.
    """

    coef: np.ndarray
    intercept: np.ndarray
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, num_classes: int, c: float = 1.0,
            seed: int = 0) -> LinearHead:
        """Fit on pooled clip features ``x (N, D)`` with labels ``y (N,)``.

        Classes absent from ``y`` get a very low intercept, so they are never predicted.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        if len(np.unique(y)) < 2:
            raise InputError("the linear head needs training videos of at least 2 classes")
        scaler = StandardScaler().fit(x)
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        model.fit(scaler.transform(x), y)
        coef = np.zeros((num_classes, x.shape[1]), np.float32)
        intercept = np.full(num_classes, -1e4, np.float32)
        known = model.classes_.astype(int)
        if len(known) == 2:  # sklearn stores one row for two classes: expand to softmax form
            coef[known] = np.stack([-model.coef_[0], model.coef_[0]]) / 2
            intercept[known] = np.array([-model.intercept_[0], model.intercept_[0]]) / 2
        else:
            coef[known], intercept[known] = model.coef_, model.intercept_
        return cls(coef, intercept, scaler.mean_.astype(np.float32),
                   scaler.scale_.astype(np.float32))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities of rows of ``x (N, D)``."""
        z = ((np.asarray(x, np.float32) - self.mean) / self.scale) @ self.coef.T + self.intercept
        return _softmax(z)

    def save(self, path: str | os.PathLike) -> None:
        """Write the arrays to ``model.npz`` atomically."""
        write_with(path, lambda f: np.savez(f, coef=self.coef, intercept=self.intercept,
                                            mean=self.mean, scale=self.scale))

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinearHead:
        """Read ``model.npz`` with ``allow_pickle=False``."""
        with np.load(path, allow_pickle=False) as data:
            return cls(data["coef"], data["intercept"], data["mean"], data["scale"])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------- sequence batches


def pad_sequences(seqs: Sequence[np.ndarray], scaling: Scaling | None = None,
                  length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack ``(T_i, D)`` sequences into ``(B, T, D)`` float32 plus a ``(B, T)`` mask.

    Args:
        seqs: per-clip features, in temporal order.
        scaling: applied to the real frames (padding stays 0).
        length: pad to this length (default: the longest sequence).
    """
    length = length or max(len(s) for s in seqs)
    x = np.zeros((len(seqs), length, seqs[0].shape[1]), np.float32)
    mask = np.zeros((len(seqs), length), np.float32)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = scaling.apply(s) if scaling else s
        mask[i, :len(s)] = 1.0
    return x, mask


# ---------------------------------------------------------------- trained models


@dataclass(frozen=True)
class ModelOutput:
    """What a trained head says about one clip.

    Attributes:
        frame_probs: ``(T, C)`` per-frame probabilities, in temporal order.
        clip_probs: ``(C,)`` clip probabilities of a temporal or linear head, else None.
        timestamps: ``(T,)`` seconds.
        frame_ids: ``(T,)`` frame numbers.
    """

    frame_probs: np.ndarray
    clip_probs: np.ndarray | None
    timestamps: np.ndarray
    frame_ids: np.ndarray


class TrainedModel:
    """A trained head loaded from its run directory, ready to score features.

    Cheap to keep (the app caches it); ``predict_features`` is thread-compatible
    for reading. Build it with :func:`load_trained`.
    """

    def __init__(self, run_dir: Path, config: dict, classes: list[str], spec: HeadSpec,
                 keras_model=None, linear: LinearHead | None = None,
                 scaling: Scaling | None = None, numpy_head=None,
                 model_path: Path | None = None):
        self.run_dir, self.config, self.classes, self.spec = run_dir, config, classes, spec
        self._keras_model, self.linear, self.scaling = keras_model, linear, scaling
        # Predictions run the numpy head when there is one (no TensorFlow import);
        # ``keras_model`` (gradients, exports) loads the same file on first use.
        self.numpy_head, self._model_path = numpy_head, model_path
        self._keras_lock = threading.Lock()
        self._backbone = None
        self._backbone_lock = threading.Lock()

    @property
    def keras_model(self):
        """The head as a Keras model (loaded from the run on first use when predictions
        run on its numpy copy), or None for the linear head."""
        with self._keras_lock:
            if self._keras_model is None and self._model_path is not None:
                try:
                    self._keras_model = _load_keras(self._model_path)
                except (OSError, ValueError, KeyError, TypeError) as err:
                    raise RunError(f"cannot load the model of run {self.run_dir}: "
                                   f"{err}") from err
        return self._keras_model

    def _head(self):
        return self.numpy_head or self.keras_model

    @property
    def primary(self) -> str:
        """The head's own aggregator."""
        return self.spec.primary

    @property
    def feature_spec(self):
        """The ``vidcore.features.FeatureSpec`` this model was trained on."""
        from vidcore.features import FeatureSpec

        return FeatureSpec.from_dict(self.config)

    def backbone(self):
        """A ``vidcore.features.backbone_runner`` for this model, built on first use, kept."""
        with self._backbone_lock:  # the app shares one model across browser sessions
            if self._backbone is None:
                from vidcore.features import backbone_runner

                self._backbone = backbone_runner(self.feature_spec)
        return self._backbone

    @property
    def input_dim(self) -> int:
        """Feature length the head expects."""
        if self.linear is not None:
            return int(self.linear.coef.shape[1])
        return int(self.scaling.shift.shape[0])

    def predict_features(self, video) -> ModelOutput:
        """Score one video's features (a ``VideoFeatures``: features, timestamps, frame_ids)."""
        return self.predict_many([video])[0]

    def predict_many(self, videos: Sequence, batch_size: int = 64) -> list[ModelOutput]:
        """Score several videos; batched, results in input order."""
        for v in videos:
            self._check_dim(v.features)
        if self.spec.kind == "linear":
            probs = [(self.linear.predict_proba(v.features),
                      self.linear.predict_proba(np.mean(v.features, 0, np.float32)[None])[0])
                     for v in videos]
        elif self.spec.kind == "frame":
            probs = [(p, None) for p in self._frame_probs(videos)]
        else:
            probs = self._temporal_probs(videos, batch_size)
        return [ModelOutput(f, c, np.asarray(v.timestamps), np.asarray(v.frame_ids))
                for v, (f, c) in zip(videos, probs, strict=True)]

    def _check_dim(self, features: np.ndarray) -> None:
        if features.ndim != 2 or features.shape[1] != self.input_dim or len(features) == 0:
            raise RunError(
                f"features of shape {features.shape} do not fit this model, which expects "
                f"(frames, {self.input_dim}) from backbone {self.config.get('backbone')!r}")

    def _frame_probs(self, videos) -> list[np.ndarray]:
        frames = np.concatenate([v.features for v in videos])
        out = np.concatenate([
            np.asarray(self._head()(self.scaling.apply(chunk), training=False))
            for chunk in _chunks(frames)])
        return np.split(out, np.cumsum([len(v.features) for v in videos])[:-1])

    def _temporal_probs(self, videos, batch_size: int) -> list[tuple]:
        results = []
        for i in range(0, len(videos), batch_size):
            chunk = videos[i:i + batch_size]
            x, mask = pad_sequences([v.features for v in chunk], self.scaling)
            out = self._head()({"features": x, "mask": mask}, training=False)
            clip, frames = np.asarray(out["clip"]), np.asarray(out["frames"])
            results += [(frames[j, :len(v.features)], clip[j]) for j, v in enumerate(chunk)]
        return results


def load_trained(run_dir: str | os.PathLike) -> TrainedModel:
    """Load the model of a run (never executes code stored in the file).

    Keras models are loaded with ``keras.saving.load_model(..., safe_mode=True)``;
    arrays with ``np.load(..., allow_pickle=False)``.

    Raises:
        RunError: missing or incomplete run, or a model file that cannot be loaded safely.
    """
    run_dir = runs.check_run_dir(run_dir)
    config = runs.read_json(run_dir / runs.CONFIG)
    classes = runs.read_json(run_dir / runs.CLASSES)
    if not isinstance(config, dict) or not isinstance(classes, list):
        raise RunError(f"run {run_dir} has a damaged {runs.CONFIG} or {runs.CLASSES}")
    spec = get_head(config.get("head"))
    path = runs.model_file(run_dir)
    try:
        if spec.kind == "linear":
            return TrainedModel(run_dir, config, classes, spec, linear=LinearHead.load(path))
        # numpy when the file is exactly a head vidcore builds (no TensorFlow import:
        # seconds off a fresh process's first verdict), else Keras in safe mode now
        fast = numpy_heads.load(path, spec.kind)
        model = None if fast else _load_keras(path)
        scaling = Scaling.load(run_dir / runs.SCALING)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RunError(f"cannot load the model of run {run_dir}: {err}") from err
    return TrainedModel(run_dir, config, classes, spec, keras_model=model, scaling=scaling,
                        numpy_head=fast, model_path=path)


def _load_keras(path: Path):
    """``keras.saving.load_model`` in safe mode, with vidcore's layers registered."""
    import zipfile

    if not zipfile.is_zipfile(path):  # keras would say "File not found" for a truncated file
        raise ValueError(f"{Path(path).name} is damaged (not a complete .keras zip file); "
                         "train again or copy the run again")
    import keras

    import vidcore.models.layers  # noqa: F401  (registers the custom layers)

    return keras.saving.load_model(path, compile=False, safe_mode=True)
