"""A run's own backbone: the source of a fine-tuned run's features.

A fine-tuned run (``finetune_stages > 0`` in its config, ``vidcore.finetune``) keeps
its backbone weights in the run directory as ``backbone.weights.h5`` (a Keras weights
file of the whole backbone, written atomically). Its config keeps ``weights`` as the
weights it started from; :func:`feature_weights` resolves what its features come from,
so the one model loader (``vidcore.models.loading``) hands every consumer (evaluate,
predict, the timeline, Live, Grad-CAM, exports, Ray extraction) a ``FeatureSpec``
whose weights are that file: the feature store keys its features by the file's hash,
and the LiteRT conversion is cached beside it, per run (``LITERT_FILE``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from vidcore.errors import RunError

WEIGHTS_FILE = "backbone.weights.h5"
LITERT_FILE = "backbone.f32.tflite"  # its guarded LiteRT conversion (litert_cache)
CONFIG_FILE = "config.json"  # vidcore.runs.CONFIG, named here to keep models/ below runs


def is_fine_tuned(config: dict) -> bool:
    """Whether a run config trained its backbone (``finetune_stages`` > 0)."""
    return bool(config.get("finetune_stages"))


def weights_path(run_dir: str | os.PathLike) -> Path:
    """Where a run keeps its own backbone weights."""
    return Path(run_dir) / WEIGHTS_FILE


def feature_weights(config: dict, run_dir: str | os.PathLike) -> str | None:
    """The backbone weights a run's features come from: the absolute path of its own
    file when it was fine-tuned, else its config's ``weights``.

    Raises:
        RunError: a fine-tuned run without its backbone file (damaged or half copied).
    """
    if not is_fine_tuned(config):
        return config.get("weights", "imagenet")
    path = weights_path(run_dir).resolve()
    if not path.is_file():
        raise RunError(f"run {run_dir} was fine-tuned but its {WEIGHTS_FILE} is missing; "
                       "train it again or copy the whole run folder")
    return str(path)


def run_of_weights(weights) -> Path | None:
    """The run folder whose own backbone file ``weights`` is, else None."""
    if not isinstance(weights, str | os.PathLike):
        return None
    path = Path(weights)
    if path.name != WEIGHTS_FILE or not (path.parent / CONFIG_FILE).is_file():
        return None
    return path.parent


def base_weights(weights):
    """The weights a run's own backbone started from (its config's ``weights``), for
    what depends on the architecture alone (an engine's speed); ``weights`` itself when
    it is not a run's file."""
    run_dir = run_of_weights(weights)
    if run_dir is None:
        return weights
    try:
        return json.loads((run_dir / CONFIG_FILE).read_text()).get("weights", "imagenet")
    except (OSError, ValueError, AttributeError):
        return weights


def litert_path(weights) -> Path | None:
    """Where the LiteRT conversion of a run's own backbone is cached (beside it), or
    None for weights that are not a run's."""
    run_dir = run_of_weights(weights)
    return None if run_dir is None else run_dir / LITERT_FILE


def save(backbone_model, top, run_dir: str | os.PathLike) -> Path:
    """Write the whole backbone with the trained ``top`` into the run, atomically."""
    from vidcore.models.lite_cut import save_backbone

    return save_backbone(backbone_model, top, weights_path(run_dir))
