"""An EfficientNet-Lite backbone cut in two: a frozen bottom and a trainable top.

Fine-tuning (``vidcore.finetune``) trains the last stages of a Lite backbone and its
1280-wide head conv; the bottom, frames up to the input of the first trained block,
never changes, so its feature maps are computed once and cached
(``vidcore.features.activations``). The top is built on its own
(``efficientnet_lite.build_lite_top``) with the full model's layer names, so weights
move between the two by name, and the trained top is written back into a whole
backbone whose weights file loads like any other (``create_backbone(name, path)``).

Batch norms of the top stay frozen (their ImageNet statistics): batches of a few clips
are too small to estimate them, and a frozen batch norm still folds for inference.
"""

from __future__ import annotations

from pathlib import Path

from vidcore.atomic import replace_via_temp
from vidcore.errors import InputError
from vidcore.models import efficientnet_lite


def check_lite(backbone: str) -> None:
    """Raise an ``InputError`` unless ``backbone`` is an EfficientNet-Lite (the only
    family whose stages vidcore can cut)."""
    if backbone not in efficientnet_lite.VARIANTS:
        raise InputError(f"fine-tuning needs an EfficientNet-Lite backbone "
                         f"({', '.join(efficientnet_lite.VARIANTS)}), not {backbone!r}")


def cut_block(backbone: str, stages: int) -> int:
    """Index of the first block of the last ``stages`` MBConv stages of ``backbone``.

    Raises:
        InputError: not a Lite backbone, or ``stages`` outside 1..6 (stage 1, one
            block without expansion, is never trained: it sees raw edges).
    """
    check_lite(backbone)
    plan = efficientnet_lite.block_plan(backbone)
    last = plan[-1].stage_index
    if not 1 <= stages <= last:
        raise InputError(f"finetune_stages must be 1..{last}, not {stages}")
    return next(b.index for b in plan if b.stage_index == last - stages + 1)


def bottom_model(backbone_model, block: int):
    """The frozen bottom of a built Lite backbone: frames in, the map that enters
    ``block`` out, ``(B, H, W, C)``."""
    import keras

    cut = backbone_model.get_layer(f"block{block}_expand_conv").input
    return keras.Model(backbone_model.inputs, cut, name=f"{backbone_model.name}_bottom{block}")


def top_model(backbone_model, block: int):
    """A trainable copy of the top of a built Lite backbone from ``block`` on (its
    weights copied, batch norms frozen)."""
    bottom = bottom_model(backbone_model, block)
    name = backbone_model.name
    top = efficientnet_lite.build_lite_top(name, block, tuple(bottom.output.shape[1:]))
    copy_weights(backbone_model, top)
    for layer in top.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.trainable = False
    return top


def copy_weights(source, target) -> None:
    """Copy the weights of every weighted layer the two models both name."""
    def named(model):
        return {layer.name for layer in model.layers if layer.weights}

    for name in named(source) & named(target):
        target.get_layer(name).set_weights(source.get_layer(name).get_weights())


def save_backbone(backbone_model, top, path: Path) -> Path:
    """Write ``backbone_model`` with ``top``'s weights in place of its own top, as a
    Keras weights file, atomically (a killed run leaves the old file or none)."""
    copy_weights(top, backbone_model)
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_via_temp(path, lambda tmp: backbone_model.save_weights(str(tmp)))
    return path
