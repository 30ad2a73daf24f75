"""The cache of frozen activations fine-tuning trains on, in the feature store's manner.

A fine-tuned run (``vidcore.finetune``) trains the top of a Lite backbone; the bottom
never changes, so the feature map that enters the first trained block is computed once
per video and kept. Layout, beside the feature sets in the same store root::

    <store>/<feature folder>__cut<block>__<views>/spec.json
    <store>/<feature folder>__cut<block>__<views>/<k[:2]>/<k>.npy   one video

``<feature folder>`` is the frozen features' own name (backbone, weights id, float32,
sampler), ``<block>`` the first trained block and ``<views>`` ``plain`` or
``plain+mirror`` (each frame's horizontal mirror through the bottom too: flip-averaged
features are the mean of the two views' tops). One entry is a float16 array
``(T, V, H, W, C)``: frames, views, map. It is written atomically like a feature entry
and read memory-mapped, so training reads only the frames of a batch: memory stays
bounded by the batch, whatever the dataset's size. The bottom always computes in
float32 (training does).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidcore.atomic import write_with
from vidcore.errors import InputError
from vidcore.features.pipeline import Progress, _Backbone, extract
from vidcore.features.spec import FeatureSpec, VideoFeatures
from vidcore.features.store import TEMP_PREFIX, FeatureStore, video_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivationSpec(FeatureSpec):
    """Which frozen activations: a feature spec cut before block ``cut``.

    ``flip`` here means both views are kept (plain and mirrored frames), not averaged.
    """

    cut: int = 0

    @property
    def views(self) -> tuple[str, ...]:
        """The views each entry holds, in order."""
        return ("plain", "mirror") if self.flip else ("plain",)

    def to_dict(self) -> dict:
        """Plain dict for ``spec.json``."""
        return {**super().to_dict(), "cut": self.cut, "views": list(self.views)}

    def folder_name(self, precision: str | None = None) -> str:
        """``<frozen feature folder>__cut<block>__<views>`` (always float32)."""
        plain = FeatureSpec(self.backbone, self.weights, self.sampler, "float32")
        return f"{plain.folder_name('float32')}__cut{self.cut}__{'+'.join(self.views)}"


def activation_spec(feature_spec: FeatureSpec, cut: int) -> ActivationSpec:
    """The activations of ``feature_spec``'s backbone, weights and sampler before ``cut``;
    both views when it averages flips."""
    return ActivationSpec(feature_spec.backbone, feature_spec.weights, feature_spec.sampler,
                          "float32", "keras", feature_spec.flip, cut)


class ActivationStore(FeatureStore):
    """The cached activations of one ``ActivationSpec`` (``.npy`` entries, memory-mapped)."""

    def __init__(self, root, spec: ActivationSpec):
        super().__init__(root, spec, "float32")

    def get(self, path) -> np.ndarray | None:
        """The video's activations ``(T, V, H, W, C)`` float16, memory-mapped, or None
        (a damaged entry counts as absent)."""
        entry = self._entry(video_key(path), ".npy")
        try:
            maps = np.load(entry, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            log.warning("damaged activation entry %s (%s): it will be recomputed", entry, err)
            return None
        return maps if maps.ndim == 5 and len(maps) > 0 else None

    def put(self, path, feats: VideoFeatures) -> None:
        """Store a video's activations atomically (only its ``features`` array)."""
        maps = np.ascontiguousarray(feats.features, np.float16)
        try:
            write_with(self._entry(video_key(path), ".npy"), lambda f: np.save(f, maps),
                       TEMP_PREFIX)
        except OSError as err:
            raise InputError(f"cannot write the activation cache {self.folder}: "
                             f"{err.strerror or err}; free some space or choose another "
                             "folder with --store (what is cached so far is kept)") from err
        self._entry(video_key(path), ".failed.json").unlink(missing_ok=True)


class BottomRunner(_Backbone):
    """The frozen bottom of a Lite backbone in float32, batch norms folded: uint8 frames
    ``(B, S, S, 3)`` in, ``(B, V, H, W, C)`` maps out (one per view). It runs on LiteRT
    where the whole backbone does here (the engines' remembered choice; the bottom is
    converted once, guarded like the backbone, and cached), else on Keras."""

    def __init__(self, spec: ActivationSpec, bottom=None):
        self._bottom = bottom
        super().__init__(spec, lazy=True)

    def _build(self) -> None:
        from vidcore.errors import WeightsError
        from vidcore.models.runners import KerasRunner

        bottom = self._bottom if self._bottom is not None else build_bottom(self.spec)
        whole = FeatureSpec(self.spec.backbone, self.spec.weights, self.spec.sampler)
        if whole.weights is not None and whole.engine_choice(measure=False).engine == "litert":
            try:
                self._run, self.engine = _litert_bottom(self.spec, bottom, self.size), "litert"
            except WeightsError as err:
                log.warning("the bottom runs on Keras: %s", err)
        if self._run is None:
            self._run, self.engine = KerasRunner(bottom, self.size, True, "float32"), "keras"
        self.precision = "float32"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if self._run is None:
            self._build()
        views = [self._run(batch)]
        if self.spec.flip:
            views.append(self._run(np.ascontiguousarray(np.asarray(batch)[:, :, ::-1])))
        return np.stack(views, axis=1)


def _litert_bottom(spec: ActivationSpec, bottom, size: int):
    """A LiteRT runner of the bottom, converted (and guarded) on first use."""
    from vidcore import settings
    from vidcore.models import litert_cache
    from vidcore.models.backbones import weights_fingerprint
    from vidcore.models.runners import LiteRTRunner

    weights_id = weights_fingerprint(spec.backbone, spec.weights)
    path = settings.engines_dir() / f"{spec.backbone}__{weights_id}__cut{spec.cut}__f32.tflite"
    if litert_cache.cached_conversion(path, weights_id) is None:
        litert_cache.convert(bottom, path, weights_id, size)
    return LiteRTRunner(path)


def build_bottom(spec: ActivationSpec):
    """The bottom Keras model of ``spec``'s backbone with its weights."""
    from vidcore.models.backbones import create_backbone
    from vidcore.models.lite_cut import bottom_model

    return bottom_model(create_backbone(spec.backbone, spec.weights), spec.cut)


def cache_activations(paths, spec: ActivationSpec, store_dir=None,
                      progress: Progress | None = None, should_stop=None, bottom=None):
    """Compute and cache the activations of every video not cached yet (the extraction
    pipeline: threaded decoding, batched bottom, atomic entries).

    Returns:
        The ``ExtractSummary`` (``cached`` counts the videos reused).
    """
    store = ActivationStore(store_dir, spec)
    return extract(paths, spec, store_dir, progress=progress, should_stop=should_stop,
                   model=BottomRunner(spec, bottom), store=store)


def load_activations(paths, spec: ActivationSpec, store_dir=None
                     ) -> list[np.ndarray | None]:
    """Each video's memory-mapped activations (None where none are cached)."""
    store = ActivationStore(store_dir, spec)
    return [store.get(Path(p)) for p in paths]
