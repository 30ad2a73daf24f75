"""Which features (``FeatureSpec``), and the features of one video (``VideoFeatures``)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

import numpy as np

from vidcore.data.sampling import Sampler, UniformSampler, describe, sampler_from_config
from vidcore.errors import InputError


@dataclass(frozen=True)
class FeatureSpec:
    """Which features: a backbone, its weights, a frame sampler and a precision.

    Attributes:
        backbone: registry name (see ``vidcore.models.backbones``).
        weights: ``"imagenet"``, ``None`` (random, for tests) or a weights file path.
        sampler: which frames of each video.
        precision: ``"auto"`` (bfloat16 where the CPU and backbone allow, else
            float32), ``"float32"`` or ``"bfloat16"``; see ``vidcore.models.precision``.
        flip: test-time augmentation: each frame's features are the mean of the frame's
            and its horizontal mirror's (twice the backbone cost; stored apart).
    """

    backbone: str = "efficientnet_lite0"
    weights: str | None = "imagenet"
    sampler: Sampler = UniformSampler(8)
    precision: str = "auto"
    engine: str = "auto"
    flip: bool = False

    def to_dict(self) -> dict:
        """Plain dict for JSON (``flip`` only when set, so older specs read the same)."""
        data = {"backbone": self.backbone, "weights": self.weights,
                "sampler": self.sampler.config(), "precision": self.precision,
                "engine": self.engine}
        return {**data, "flip": True} if self.flip else data

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSpec:
        """Inverse of ``to_dict``."""
        return cls(data["backbone"], data.get("weights", "imagenet"),
                   sampler_from_config(data["sampler"]), data.get("precision", "auto"),
                   data.get("engine", "auto"), bool(data.get("flip", False)))

    def engine_choice(self, measure: bool = True):
        """The engine and precision the backbone runs on here (``vidcore.models.engines``:
        measured once per machine, then remembered; ``$VIDCORE_ENGINE`` overrides).

        Args:
            measure: run that measurement when it is due (a few seconds of backbone
                calls); False leaves it pending (engine ``"auto"``).
        """
        from vidcore.models import engines

        return engines.choose(self, measure)

    def compute_precision(self, measure: bool = True) -> str:
        """The precision the backbone really computes in on this machine.

        Args:
            measure: allow the one-off engine measurement that settles it (an ``"auto"``
                spec on a bfloat16 CPU, whose candidates compute in different precisions,
                the first time the backbone is used here).

        Raises:
            InputError: ``measure=False`` and the precision is not settled yet.
        """
        from vidcore.models.precision import SHORT

        precision = self.engine_choice(measure).precision
        if precision not in SHORT:
            raise InputError(f"the precision {self.backbone} computes in here is settled by "
                             "measuring its engines on first use: extract features first, or "
                             "set VIDCORE_PRECISION")
        return precision

    def pinned(self) -> FeatureSpec:
        """This spec with ``"auto"`` replaced by the engine and precision this machine
        runs, for work handed to other machines (whose CPUs may choose otherwise)."""
        choice = self.engine_choice()
        return replace(self, precision=choice.precision, engine=choice.engine)

    def folder_name(self, precision: str | None = None) -> str:
        """Store sub-folder: readable, and unique for backbone, weights, precision and
        sampler. Naming a folder never measures engines.

        Args:
            precision: what the backbone computes in (``compute_precision()``); default:
                what is known here without measuring.

        Raises:
            InputError: no ``precision`` given and it is not settled yet (see
                ``compute_precision``).
        """
        from vidcore.models.backbones import weights_fingerprint
        from vidcore.models.precision import SHORT

        sampler = json.dumps(self.sampler.config(), sort_keys=True)
        slug = describe(self.sampler).replace(", ", "-").replace(" ", "")
        digest = hashlib.sha1(sampler.encode()).hexdigest()[:6]
        weights_id = weights_fingerprint(self.backbone, self.weights)
        # Precision, not engine: float32 LiteRT and float32 Keras agree to ~1e-5 (below
        # the float16 the store keeps), so they share a folder; bfloat16 differs, apart.
        compute = SHORT[precision or self.compute_precision(measure=False)]
        # Flip-averaged features differ from plain ones: their own folder (plain keeps
        # its old name, so existing stores stay valid).
        tta = "__flip" if self.flip else ""
        return f"{self.backbone}__{weights_id}__{compute}__{slug}-{digest}{tta}"


@dataclass(frozen=True)
class VideoFeatures:
    """Features of the sampled frames of one video, in temporal order.

    Attributes:
        features: float16 (T, D).
        timestamps: seconds, float64 (T,).
        frame_ids: int64 (T,).
    """

    features: np.ndarray
    timestamps: np.ndarray
    frame_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.frame_ids)
