"""Classification heads on frame features, and loading a trained one back from its run.

Three kinds of head, one registry (``HEADS``):

* ``frame_mlp`` (kind ``frame``), the reference head: each frame on its own through
  Dense 1024-512-256-128 (ReLU, Dropout 0.5 after each) and a softmax; trained on
  frames that each carry their clip's label. A clip label needs an aggregator
  (``mode`` vote or ``mean`` probability, see ``vidcore.evaluate``).
* ``temporal_conv`` (kind ``temporal``): reads the ordered frame features of a clip
  (any length, padded and masked) and outputs one clip prediction. Frames are
  embedded, given their relative position, passed through two temporal
  convolutions and pooled (masked mean and max). Because the convolutions see
  neighbouring frames in order, a clip and its time-reverse give different
  features, which no per-frame model can achieve. It also has a per-frame output
  (``frames``: a softmax on the frame embeddings, trained jointly with weight 0.5
  on the clip label) so that every head can show predictions over time and be
  scored with ``mode``/``mean`` too; that output is by construction blind to order.
* ``linear`` (kind ``linear``): logistic regression (scikit-learn) on the mean of a
  clip's frame features, standardised: the cheap honest baseline. Stored as plain
  arrays in ``model.npz``; applied to single frames for the per-frame view.

Keras heads are saved as ``model.keras``; their custom layers live in
``vidcore.models.layers``, so no Lambda layer exists to load. Loading a trained head
back is ``vidcore.models.loading``'s job; the linear head's arrays are
``vidcore.models.linear.LinearHead``, the feature scaling ``vidcore.models.scaling``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vidcore.errors import InputError
from vidcore.registry import lookup

FRAME_UNITS = (1024, 512, 256, 128)  # the reference head


@dataclass(frozen=True)
class HeadSpec:
    """What a head is and how to build it.

    Attributes:
        name: registry key.
        kind: ``frame`` (per-frame classifier), ``temporal`` (whole clip, ordered) or
            ``linear`` (scikit-learn on mean-pooled features).
        aggregators: the clip-level answers it reports, its own (primary) one first.
        description: one line for the UI.
        defaults: default hyper-parameters of the builder (``dropout``, ``width``).
        builder: ``builder(input_dim, num_classes, **params)`` -> ``keras.Model``;
            None for the linear head.
    """

    name: str
    kind: str
    aggregators: tuple[str, ...]
    description: str
    defaults: dict = field(default_factory=dict, compare=False)
    builder: Callable | None = field(default=None, repr=False, compare=False)

    @property
    def primary(self) -> str:
        """The head's own aggregator."""
        return self.aggregators[0]


# ---------------------------------------------------------------- builders


def build_frame_mlp(input_dim: int, num_classes: int, units: Sequence[int] = FRAME_UNITS,
                    dropout: float = 0.5):
    """The reference per-frame MLP: ``(B, D)`` features -> ``(B, C)`` probabilities.

    Args:
        input_dim: feature length D.
        num_classes: C.
        units: hidden layer widths (reference: 1024, 512, 256, 128).
        dropout: rate of the Dropout after each hidden layer (reference: 0.5).
    """
    import keras

    inputs = keras.Input((input_dim,), name="features")
    x = inputs
    for i, width in enumerate(units):
        x = keras.layers.Dense(width, activation="relu", name=f"dense_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="frame_mlp")


def build_temporal_conv(input_dim: int, num_classes: int, width: int = 256,
                        dropout: float = 0.3, kernel: int = 3):
    """Temporal convolution head over an ordered, masked sequence of frame features.

    Inputs ``{"features": (B, T, D), "mask": (B, T)}``; outputs
    ``{"clip": (B, C), "frames": (B, T, C)}`` probabilities.

    Args:
        input_dim: feature length D.
        num_classes: C.
        width: channels of the embedding and the convolutions.
        dropout: dropout rate on inputs, embeddings and the pooled vector.
        kernel: temporal kernel size of both convolutions (the second is dilated by 2).
    """
    import keras

    from vidcore.models.layers import ApplyMask, MaskedPooling, RelativePosition

    L = keras.layers
    feats = keras.Input((None, input_dim), name="features")
    mask = keras.Input((None,), name="mask")
    h = L.Dense(width, activation="relu", name="embed")(L.Dropout(dropout)(feats))
    h = ApplyMask(name="embed_mask")(h, mask)
    frames = L.Dense(num_classes, activation="softmax", name="frames")(L.Dropout(dropout)(h))
    t = L.Concatenate(name="with_position")([h, RelativePosition(name="position")(mask)])
    for i, dilation in enumerate((1, 2)):
        t = L.Conv1D(width, kernel, padding="same", dilation_rate=dilation,
                     activation="relu", name=f"tconv_{i}")(t)
        t = ApplyMask(name=f"tconv_{i}_mask")(t, mask)
    pooled = L.Dropout(dropout)(MaskedPooling(name="pool")(t, mask))
    clip = L.Dense(num_classes, activation="softmax", name="clip")(pooled)
    return keras.Model({"features": feats, "mask": mask}, {"clip": clip, "frames": frames},
                       name="temporal_conv")


HEADS: dict[str, HeadSpec] = {
    spec.name: spec
    for spec in (
        HeadSpec("frame_mlp", "frame", ("mode", "mean"),
                 "reference per-frame MLP 1024-512-256-128, clip label by vote",
                 {"dropout": 0.5}, build_frame_mlp),
        HeadSpec("temporal_conv", "temporal", ("temporal", "mode", "mean"),
                 "temporal convolutions over the ordered frames: tells time-reversed actions "
                 "apart", {"dropout": 0.3, "width": 256}, build_temporal_conv),
        HeadSpec("linear", "linear", ("linear", "mode", "mean"),
                 "logistic regression on mean-pooled features (scikit-learn baseline)"),
    )
}


def list_heads() -> list[str]:
    """Registered head names."""
    return list(HEADS)


def get_head(name: str) -> HeadSpec:
    """The spec of head ``name``.

    Raises:
        InputError: unknown name (the message lists the valid ones).
    """
    return lookup(HEADS, name, "head")


def create_head(name: str, input_dim: int, num_classes: int, **params):
    """Build a Keras head by name.

    Args:
        name: a registered neural head (``frame_mlp``, ``temporal_conv``).
        input_dim: feature length D.
        num_classes: number of classes.
        **params: builder options (see ``HeadSpec.defaults``); None values use defaults.

    Raises:
        InputError: unknown head or option, or the linear head (not a Keras model).
    """
    spec = get_head(name)
    if spec.builder is None:
        raise InputError(f"head {name!r} is not a Keras model; fit it with LinearHead.fit")
    params = {k: v for k, v in params.items() if v is not None}
    unknown = sorted(set(params) - set(spec.defaults))
    if unknown:
        raise InputError(f"head {name!r} takes {', '.join(spec.defaults)}; "
                         f"not {', '.join(unknown)}")
    return spec.builder(input_dim, num_classes, **{**spec.defaults, **params})
