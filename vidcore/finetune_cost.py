"""What fine-tuning will cost, said before Start: seconds per epoch and in all.

From a measurement: ``benchmarks/finetune_accuracy.py --cost-out docs/finetune_cost.json``
records, on one machine, the seconds per trained frame (one frame of one clip through
the trained top, forward and backward), the seconds per cached frame (one view of one
frame through the frozen bottom, the first run only) and the epochs runs took before
early stopping. :func:`estimate_cost` scales those to a dataset's size and a config;
:func:`measure_step` measures the training figure on this machine in a few seconds
(random maps through the real top), for a figure of this machine rather than the
benchmark's.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from vidcore import settings

COST_FILE = "finetune_cost.json"
MEASURE_STEPS = 3  # timed training steps of measure_step (after one warm-up step)


def cost_file() -> Path:
    """``docs/finetune_cost.json`` beside ``docs/presets.json``."""
    return settings.presets_file().with_name(COST_FILE)


def measured(path: str | Path | None = None) -> dict:
    """The benchmark's cost figures (empty when missing or unreadable)."""
    try:
        data = json.loads(Path(path or cost_file()).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and "train_seconds_per_frame" in data else {}


def estimate_cost(clips: int, config=None, figures: dict | None = None,
                  cached: bool = False) -> dict | None:
    """Expected seconds of a fine-tuning run on ``clips`` training clips.

    Args:
        clips: clips of the training split (validation is carved out of them).
        config: the ``TrainConfig`` (default: the ``finetune`` preset's values).
        figures: a measurement (:func:`measured`, or :func:`measure_step`'s dict);
            default: the benchmark's file.
        cached: the frozen activations are already cached (a second run).

    Returns:
        ``{"cache_seconds", "seconds_per_epoch", "epochs", "total_seconds", "line"}``,
        or None when there is no measurement.
    """
    figures = measured() if figures is None else figures
    if not figures or not figures.get("train_seconds_per_frame"):
        return None
    values = _config_values(config)
    views = 2 if values["flip"] else 1
    frames = values["sampler"].config().get("frames", 16)
    train_clips = math.ceil(clips * (1 - values["val_fraction"]))
    # Each epoch trains K frames a clip and validates every frame (a forward pass is
    # about a third of a training step).
    per_frame = figures["train_seconds_per_frame"]
    per_epoch = per_frame * (train_clips * values["finetune_frames"]
                             + (clips - train_clips) * frames * views / 3)
    cache = 0.0 if cached else clips * frames * views * (figures.get("cache_seconds_per_frame")
                                                         or 0.0)
    epochs = min(values["epochs"], figures.get("epochs_run") or values["epochs"])
    features = per_frame * clips * frames * views / 3  # the kept top over every clip
    total = cache + epochs * per_epoch + features
    line = (f"Expected: about {_minutes(per_epoch)} an epoch, {epochs:.0f} epochs, "
            f"{_minutes(total)} in all"
            + (f" (of which {_minutes(cache)} caching the frozen layers, once)" if cache else "")
            + f"; measured {figures.get('measured', 'by benchmarks/finetune_accuracy.py')}.")
    return {"cache_seconds": round(cache, 1), "seconds_per_epoch": round(per_epoch, 1),
            "epochs": epochs, "total_seconds": round(total, 1), "line": line}


def expected_line(clips: int) -> str:
    """What the ``finetune`` preset will cost on ``clips`` training clips, in a sentence
    for the Train page (or why it cannot be said)."""
    if clips <= 0:
        return "Fine-tuning cost: choose a dataset with training clips to see it."
    cost = estimate_cost(clips)
    if cost is None:
        return ("Fine-tuning cost not measured yet: run benchmarks/finetune_accuracy.py "
                "--cost-out docs/finetune_cost.json.")
    return f"Fine-tuning {clips} training clips. {cost['line']}"


def _config_values(config) -> dict:
    from vidcore.presets import get_preset

    if config is not None:
        return {k: getattr(config, k) for k in ("flip", "sampler", "val_fraction",
                                                 "finetune_frames", "epochs")}
    values = get_preset("finetune").values
    return {k: values[k] for k in ("flip", "sampler", "val_fraction", "finetune_frames",
                                    "epochs")}


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def measure_step(backbone: str = "efficientnet_lite2", stages: int = 1, batch_clips: int = 8,
                 frames: int = 8) -> dict:
    """Seconds per trained frame on this machine: a few training steps of the real top
    (random weights: the speed is the architecture's) on random maps. Imports
    TensorFlow; takes seconds. Returns figures for :func:`estimate_cost` (without the
    cache and epoch figures, which it then takes from ``measured()`` when there)."""
    import numpy as np

    from vidcore.finetune import TopTrainer
    from vidcore.models.backbones import create_backbone
    from vidcore.models.lite_cut import cut_block, top_model

    cut = cut_block(backbone, stages)
    trainer = TopTrainer(top_model(create_backbone(backbone, None), cut), 4, 1e-4)
    shape = tuple(trainer.top.input.shape[1:])
    x = np.random.default_rng(0).normal(size=(batch_clips, frames, *shape)).astype(np.float32)
    y, w = np.arange(batch_clips, dtype=np.int64) % 4, np.ones(batch_clips, np.float32)
    trainer.step(x, y, w)  # traces the step
    start = time.perf_counter()
    for _ in range(MEASURE_STEPS):
        trainer.step(x, y, w)
    seconds = (time.perf_counter() - start) / (MEASURE_STEPS * batch_clips * frames)
    known = measured()
    return {**{k: known[k] for k in ("cache_seconds_per_frame", "epochs_run") if k in known},
            "train_seconds_per_frame": round(seconds, 5), "measured": "on this machine now"}
