"""The one way from a run to a trained model: ``load_model``, and ``model_version`` for caches.

``load_model(run_dir)`` resolves the run (the one given, else the active model, else
the shipped demo model), validates it once, reads its config and class names, and
hands back a ``TrainedModel``: the head's runtime (``vidcore.models.runtimes``, one per
head kind) with what it was trained on. Nothing stored in a file is ever executed:
Keras models load with ``safe_mode=True``, arrays with ``allow_pickle=False``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidcore import runs
from vidcore.errors import RunError
from vidcore.models import run_backbone
from vidcore.models.heads import HeadSpec, get_head
from vidcore.models.runtimes import RUNTIMES


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
    for reading. Build it with :func:`load_model`.

    Attributes:
        run_dir: the run it came from.
        config: the run's config (a resolved ``TrainConfig`` as a dict).
        classes: class names in label order.
        spec: the head's ``HeadSpec``.
        runtime: the head itself (``vidcore.models.runtimes``).
    """

    def __init__(self, run_dir: Path, config: dict, classes: list[str], spec: HeadSpec,
                 runtime):
        self.run_dir, self.config, self.classes = run_dir, config, classes
        self.spec, self.runtime = spec, runtime
        self._weights = run_backbone.feature_weights(config, run_dir)
        self._backbone = None
        self._backbone_lock = threading.Lock()

    @property
    def primary(self) -> str:
        """The head's own aggregator."""
        return self.spec.primary

    @property
    def input_dim(self) -> int:
        """Feature length the head expects."""
        return self.runtime.input_dim

    @property
    def feature_spec(self):
        """The ``vidcore.features.FeatureSpec`` this model was trained on; a fine-tuned
        run's weights are its own backbone file (``vidcore.models.run_backbone``)."""
        from vidcore.features import FeatureSpec

        return FeatureSpec.from_dict({**self.config, "weights": self._weights})

    def backbone(self):
        """A ``vidcore.features.backbone_runner`` for this model, built on first use, kept."""
        with self._backbone_lock:  # the app shares one model across browser sessions
            if self._backbone is None:
                from vidcore.features import backbone_runner

                self._backbone = backbone_runner(self.feature_spec)
        return self._backbone

    def predict_features(self, video) -> ModelOutput:
        """Score one video's features (a ``VideoFeatures``: features, timestamps, frame_ids)."""
        return self.predict_many([video])[0]

    def predict_many(self, videos: Sequence, batch_size: int = 64) -> list[ModelOutput]:
        """Score several videos; batched, results in input order."""
        for v in videos:
            self._check_dim(v.features)
        probs = self.runtime.predict(videos, batch_size)
        return [ModelOutput(f, c, np.asarray(v.timestamps), np.asarray(v.frame_ids))
                for v, (f, c) in zip(videos, probs, strict=True)]

    def _check_dim(self, features: np.ndarray) -> None:
        if features.ndim != 2 or features.shape[1] != self.input_dim or len(features) == 0:
            raise RunError(
                f"features of shape {features.shape} do not fit this model, which expects "
                f"(frames, {self.input_dim}) from backbone {self.config.get('backbone')!r}")


def load_model(run_dir: str | os.PathLike | None = None) -> TrainedModel:
    """Load a run's model; without ``run_dir``, the active model, else the shipped demo one.

    Raises:
        RunError: no such run, no model, a damaged config or class list, or a model
            file that cannot be loaded safely.
    """
    run_dir = runs.resolve_model_dir(run_dir)  # validated there, once
    config = runs.read_json(run_dir / runs.CONFIG)
    classes = runs.read_json(run_dir / runs.CLASSES)
    if not isinstance(config, dict) or not isinstance(classes, list):
        raise RunError(f"run {run_dir} has a damaged {runs.CONFIG} or {runs.CLASSES}")
    spec = get_head(config.get("head"))
    try:
        runtime = RUNTIMES[spec.kind].load(runs.model_file(run_dir), run_dir / runs.SCALING,
                                           run_dir)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RunError(f"cannot load the model of run {run_dir}: {err}") from err
    return TrainedModel(run_dir, config, classes, spec, runtime)


def model_version(run_dir: str | os.PathLike | None) -> int:
    """A number that changes whenever what ``load_model(run_dir)`` reads changes (the
    newest modification time of the model, scaling, config, class and own backbone
    files), for cache
    keys. Never raises: 0 when none of them can be read (no run, no model yet)."""
    if not run_dir:
        return 0
    folder = Path(run_dir).expanduser()
    names = (runs.KERAS_MODEL, runs.LINEAR_MODEL, runs.SCALING, runs.CONFIG, runs.CLASSES,
             run_backbone.WEIGHTS_FILE)
    return max((_mtime_ns(folder / name) for name in names), default=0)


def _mtime_ns(path: Path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except (OSError, ValueError):  # ValueError: a path with a NUL byte
        return 0
