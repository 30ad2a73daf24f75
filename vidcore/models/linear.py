"""The linear head: logistic regression on pooled clip features, kept as arrays.

A clip's frame features ``(T, D)`` are pooled into one vector: their mean (``mean``,
``D`` values) or their mean and standard deviation side by side (``mean_std``, ``2D``:
how much each feature varies over the clip), optionally followed by a signed square root
(``root``: power normalisation, which damps the few large values that dominate pooled CNN
features; docs/accuracy.md has its figures on real clips). Fitted with scikit-learn, stored as plain
arrays in ``model.npz`` (no pickle; files without a pooling entry are ``mean``),
applied in numpy (to whole clips, and to single frames for the per-frame view).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from vidcore.atomic import write_with
from vidcore.errors import InputError

POOLINGS = ("mean", "mean_std")
# The root is sign(x) * (sqrt(|x| + ROOT_EPS) - sqrt(ROOT_EPS)): a square root that is 0
# at 0 with a finite slope there, so Grad-CAM's gradients through it stay finite.
ROOT_EPS = 1e-4


def signed_root(x):
    """The signed square root of ``root`` pooling, elementwise (numpy)."""
    x = np.asarray(x, np.float32)
    return (np.sign(x) * (np.sqrt(np.abs(x) + ROOT_EPS) - np.sqrt(ROOT_EPS))).astype(np.float32)


def pool(frames: np.ndarray, pooling: str = "mean", root: bool = False) -> np.ndarray:
    """One clip's frame features ``(T, D)`` pooled into ``(D,)`` or ``(2D,)``, then
    passed through ``signed_root`` when ``root``."""
    frames = np.asarray(frames, np.float32)
    if pooling == "mean_std":
        pooled = np.concatenate([frames.mean(0), frames.std(0)])
    else:
        pooled = frames.mean(0)
    return signed_root(pooled) if root else pooled


def pool_clips(xs: list[np.ndarray], pooling: str = "mean", root: bool = False) -> np.ndarray:
    """Pooled features of several clips, ``(N, D)`` or ``(N, 2D)`` float32."""
    return np.stack([pool(x, pooling, root) for x in xs])


def check_pooling(pooling: str) -> str:
    """``pooling`` when it is one of ``POOLINGS``.

    Raises:
        InputError: any other value.
    """
    if pooling not in POOLINGS:
        raise InputError(f"unknown linear pooling {pooling!r}; choose one of: "
                         f"{', '.join(POOLINGS)}")
    return pooling


@dataclass(frozen=True)
class LinearHead:
    """Multinomial logistic regression on standardised pooled features, as arrays.

    Attributes:
        coef: ``(C, P)`` weights (P: the pooled length, D or 2D).
        intercept: ``(C,)`` biases.
        mean: ``(P,)`` standardisation mean.
        scale: ``(P,)`` standardisation std.
        pooling: how a clip's frames were pooled (``POOLINGS``).
        root: whether the pooled features went through ``signed_root``.
    """

    coef: np.ndarray
    intercept: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    pooling: str = "mean"
    root: bool = False

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, num_classes: int, c: float = 1.0,
            seed: int = 0, balanced: bool = False, pooling: str = "mean",
            root: bool = False) -> LinearHead:
        """Fit on pooled clip features ``x (N, P)`` (``pool_clips(xs, pooling, root)``)
        with labels ``y (N,)``.

        Classes absent from ``y`` get a very low intercept, so they are never predicted.
        ``balanced`` weighs each class inversely to its size (scikit-learn's
        ``class_weight="balanced"``): on ucf101-dev (97 clips against 3, 15 x 5-fold by
        recording, Lite0 8 frames) mean class accuracy 0.602 -> 0.709, top-1 0.846 -> 0.864.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        if len(np.unique(y)) < 2:
            raise InputError("the linear head needs training videos of at least 2 classes")
        scaler = StandardScaler().fit(x)
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed,
                                   class_weight="balanced" if balanced else None)
        model.fit(scaler.transform(x), y)
        coef = np.zeros((num_classes, x.shape[1]), np.float32)
        intercept = np.full(num_classes, -1e4, np.float32)
        known = model.classes_.astype(int)
        if len(known) == 2:  # sklearn stores one row for two classes: expand to softmax form
            coef[known] = np.stack([-model.coef_[0], model.coef_[0]]) / 2
            intercept[known] = np.array([-model.intercept_[0], model.intercept_[0]]) / 2
        else:
            coef[known], intercept[known] = model.coef_, model.intercept_
        return cls(coef, intercept, scaler.mean_.astype(np.float32),
                   scaler.scale_.astype(np.float32), check_pooling(pooling), bool(root))

    @property
    def feature_dim(self) -> int:
        """The frame feature length D the head takes (before pooling)."""
        return int(self.coef.shape[1]) // (2 if self.pooling == "mean_std" else 1)

    def clip_proba(self, frames: np.ndarray) -> np.ndarray:
        """Class probabilities ``(C,)`` of one clip's frame features ``(T, D)``."""
        return self.predict_proba(pool(frames, self.pooling, self.root)[None])[0]

    def frame_proba(self, frames: np.ndarray) -> np.ndarray:
        """Per-frame class probabilities ``(T, C)``: each frame pooled as a clip of one."""
        return self.predict_proba(np.stack([pool(f[None], self.pooling, self.root)
                                            for f in frames]))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities of rows of ``x (N, D)``."""
        z = ((np.asarray(x, np.float32) - self.mean) / self.scale) @ self.coef.T + self.intercept
        return _softmax(z)

    def save(self, path: str | os.PathLike) -> None:
        """Write the arrays to ``model.npz`` atomically."""
        write_with(path, lambda f: np.savez(f, coef=self.coef, intercept=self.intercept,
                                            mean=self.mean, scale=self.scale,
                                            pooling=np.array(self.pooling),
                                            root=np.array(self.root)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinearHead:
        """Read ``model.npz`` with ``allow_pickle=False`` (older files: mean, no root)."""
        with np.load(path, allow_pickle=False) as data:
            pooling = str(data["pooling"]) if "pooling" in data.files else "mean"
            root = bool(data["root"]) if "root" in data.files else False
            return cls(data["coef"], data["intercept"], data["mean"], data["scale"],
                       check_pooling(pooling), root)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
