"""Feature scaling fitted on training frames, and padded sequence batches for heads.

``Scaling`` is saved as ``scaling.npz`` beside a neural head (plain arrays, no pickle);
``pad_sequences`` stacks clips of different lengths for the temporal head.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vidcore.atomic import write_with
from vidcore.errors import InputError

CHUNK_VALUES = 1 << 22  # values per processing chunk: ~32 MB as float64, any feature size


@dataclass(frozen=True)
class Scaling:
    """``(x - shift) / scale`` applied to features before a head.

    Attributes:
        kind: ``train_max`` (divide by the training maximum, the reference recipe),
            ``standard`` (per-dimension mean and std of training frames) or ``none``.
        shift: subtracted first (0 for ``train_max``).
        scale: divided by next.
    """

    kind: str
    shift: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, kind: str | None, frames: np.ndarray) -> Scaling:
        """Fit on training frames ``(N, D)`` (float16 is fine: sums are float64, chunked).

        Args:
            kind: ``train_max``, ``standard``, or None / ``none`` for identity.
            frames: every training frame's features.
        """
        dim = frames.shape[1]
        if kind in (None, "none"):
            return cls("none", np.zeros(dim, np.float32), np.ones(dim, np.float32))
        if kind == "train_max":
            peak = max(float(np.max(chunk)) for chunk in chunks(frames))
            return cls(kind, np.zeros(dim, np.float32), np.full(dim, peak or 1.0, np.float32))
        if kind == "standard":
            mean, std = _mean_std(frames)
            # A near-constant dimension must not explode on test data: floor its std
            # at a small fraction of the typical one.
            std = np.maximum(std, 1e-2 * float(np.mean(std)) + 1e-8)
            return cls(kind, mean.astype(np.float32), std.astype(np.float32))
        raise InputError(f"unknown feature scaling {kind!r}; use train_max, standard or none")

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Scaled float32 copy of ``x`` (any leading shape, last axis D)."""
        return (np.asarray(x, np.float32) - self.shift) / self.scale

    def save(self, path: str | os.PathLike) -> None:
        """Write ``scaling.npz`` atomically (plain arrays, no pickle)."""
        write_with(path, lambda f: np.savez(f, kind=np.array(self.kind), shift=self.shift,
                                            scale=self.scale))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Scaling:
        """Read ``scaling.npz`` with ``allow_pickle=False``."""
        with np.load(path, allow_pickle=False) as data:
            return cls(str(data["kind"]), data["shift"], data["scale"])


def chunks(frames: np.ndarray):
    """Row blocks of a large ``(N, D)`` array, so float copies stay small (VGG16: D=25,088)."""
    rows = max(1, CHUNK_VALUES // max(1, frames.shape[1]))
    for i in range(0, len(frames), rows):
        yield frames[i:i + rows]


def _mean_std(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = np.zeros(frames.shape[1], np.float64)
    squares = np.zeros_like(total)
    for chunk in chunks(frames):
        chunk = chunk.astype(np.float64)
        total += chunk.sum(0)
        squares += (chunk**2).sum(0)
    mean = total / len(frames)
    return mean, np.sqrt(np.maximum(squares / len(frames) - mean**2, 0.0))


def pad_sequences(seqs: Sequence[np.ndarray], scaling: Scaling | None = None,
                  length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack ``(T_i, D)`` sequences into ``(B, T, D)`` float32 plus a ``(B, T)`` mask.

    Args:
        seqs: per-clip features, in temporal order.
        scaling: applied to the real frames (padding stays 0).
        length: pad to this length (default: the longest sequence).
    """
    length = length or max(len(s) for s in seqs)
    x = np.zeros((len(seqs), length, seqs[0].shape[1]), np.float32)
    mask = np.zeros((len(seqs), length), np.float32)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = scaling.apply(s) if scaling else s
        mask[i, :len(s)] = 1.0
    return x, mask
