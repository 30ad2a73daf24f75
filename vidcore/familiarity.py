"""Knowing when it does not know: how unlike the training clips a clip is.

A model trained on ten stick-figure actions answers any clip with one of them, often
at 100%: its confidence says nothing about a clip unlike all it was trained on. The
familiarity score looks at the clip itself instead: the cosine distance between its
mean backbone feature and its k-th nearest training clip's (deep nearest neighbours,
Sun et al. 2022). The threshold is a high percentile of the same score on the run's
validation clips, which are whole recordings held out of training, so it measures
what "new but familiar" looks like for this model; a clip beyond it is flagged.

Measured (``benchmarks/familiarity.py``; efficientnet_lite0, 8 uniform frames; table
in docs/evaluation.md). The shipped demo model (stick figures; 699 training clips, the
threshold from its 118 validation clips): the 223 real clips of ``ucf101-dev`` score
0.46-0.68 against a threshold of 0.175, so all 223 are flagged, and 5 of the demo's
311 test clips (1.6%) are. The other way round, a linear head fitted on ``ucf101-dev``
(127 training, 22 validation clips) flags 0 of its 74 test clips from unseen
recordings and all 311 demo test clips. k = 1 or 10 and the Mahalanobis distance
separate as well (AUROC 1.00) but flag more familiar clips at p99; the max-softmax
probability cannot be used: the demo model is *more* sure of real clips than of its
own test clips (AUROC 0.33; at p99 it flags 0% of the real clips). The 99th
percentile beats the 95th (10% of the demo's test clips flagged) and the validation
maximum (the linear head then lets 1.6% of demo clips through).

A run keeps what this needs in ``familiarity.npz`` (``FAMILIARITY``): ``bank``, the
L2-normalised mean features of its training clips (float16, ``(N, D)``, at most
``MAX_BANK`` clips, a seeded sample beyond), ``k``, ``quantile`` and ``threshold``.
Training writes it (``vidcore.trust``); a run without one has no familiarity check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidcore.errors import InputError, RunError

FAMILIARITY = "familiarity.npz"
K = 5  # neighbours: the 5th, not the 1st, so one near-duplicate clip does not vouch alone
QUANTILE = 0.99  # of validation scores: about 1 familiar clip in 100 is flagged
# Training clips kept: 26 MB on disk at 1280 features (float16), 51 MB in memory
# (float32); a query against 10,000 took 33 ms here at load 24 on the 2 cores.
MAX_BANK = 10_000
CHUNK = 1024  # query clips per similarity product: bounded memory at any bank size


def clip_embedding(features) -> np.ndarray:
    """One clip's L2-normalised mean frame feature, ``(D,)`` float32.

    Args:
        features: ``(T, D)`` backbone features of its sampled frames.
    """
    x = np.asarray(features, np.float32)
    if x.ndim != 2 or len(x) == 0:
        raise InputError(f"need (frames, features) of at least one frame, got {x.shape}")
    mean = x.mean(0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def clip_embeddings(clips) -> np.ndarray:
    """``clip_embedding`` of each clip's ``(T, D)`` features, stacked ``(N, D)``."""
    return np.stack([clip_embedding(c) for c in clips])


def knn_distance(bank: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    """Cosine distance from each query to its k-th nearest clip of ``bank``.

    Args:
        bank: ``(N, D)`` normalised training embeddings.
        queries: ``(M, D)`` normalised embeddings.
        k: which neighbour (capped at the bank size).

    Returns:
        ``(M,)`` distances in [0, 2]: 0 = the same direction as k training clips.
    """
    bank = np.asarray(bank, np.float32)
    queries = np.atleast_2d(np.asarray(queries, np.float32))
    k = max(1, min(int(k), len(bank)))
    out = np.empty(len(queries), np.float32)
    for start in range(0, len(queries), CHUNK):
        sims = queries[start:start + CHUNK] @ bank.T
        kth = -np.partition(-sims, k - 1, axis=1)[:, k - 1]  # k-th largest similarity
        out[start:start + CHUNK] = 1.0 - kth
    return np.clip(out, 0.0, 2.0)


@dataclass(frozen=True)
class Familiarity:
    """A run's training clips and the threshold beyond which a clip is unfamiliar.

    Attributes:
        bank: ``(N, D)`` normalised mean features of training clips (float32 in memory:
            converting a float16 bank at every query would cost ten times the query).
        k: the neighbour whose distance is the score.
        quantile: the share of validation clips at or below ``threshold``.
        threshold: scores above it are flagged.
    """

    bank: np.ndarray
    k: int
    quantile: float
    threshold: float

    def __post_init__(self):
        object.__setattr__(self, "bank", np.asarray(self.bank, np.float32))

    def scores(self, clips) -> np.ndarray:
        """The familiarity score (k-th neighbour cosine distance) of each clip's features."""
        return knn_distance(self.bank, clip_embeddings(clips), self.k)

    def check(self, features) -> dict:
        """The verdict on one clip's ``(T, D)`` features, as predict's JSON shows it.

        Returns:
            ``{"unfamiliar": bool, "unfamiliar_score": float, "unfamiliar_threshold": float}``.
        """
        score = float(self.scores([features])[0])
        return {"unfamiliar": bool(score > self.threshold),
                "unfamiliar_score": round(score, 6),
                "unfamiliar_threshold": round(self.threshold, 6)}

    def save(self, run_dir: str | os.PathLike) -> Path:
        """Write ``familiarity.npz`` into a run (atomically)."""
        from vidcore.atomic import write_with

        path = Path(run_dir) / FAMILIARITY
        arrays = {"bank": self.bank.astype(np.float16), "k": np.int64(self.k),
                  "quantile": np.float64(self.quantile),
                  "threshold": np.float64(self.threshold)}
        write_with(path, lambda f: np.savez(f, **arrays))
        return path

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> Familiarity | None:
        """A run's familiarity, or None when it has none (runs trained before it).

        Raises:
            RunError: the file is there but damaged.
        """
        path = Path(run_dir) / FAMILIARITY
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["bank"], int(data["k"]), float(data["quantile"]),
                           float(data["threshold"]))
        except (OSError, ValueError, KeyError) as err:
            raise RunError(f"{path} is damaged ({err}); train the run again to rebuild "
                           "it, or delete it to predict without the familiarity check") from err


def fit_familiarity(train_clips, val_clips, k: int = K, quantile: float = QUANTILE,
                    seed: int = 0) -> Familiarity:
    """Keep the training clips and set the threshold on the validation clips.

    Args:
        train_clips: per training clip, its ``(T, D)`` features.
        val_clips: per validation clip (recordings held out of training), the same.
        k: the neighbour whose distance is the score.
        quantile: share of validation clips that must stay below the threshold.
        seed: picks the kept clips when there are more than ``MAX_BANK``.

    Raises:
        InputError: no training or no validation clip.
    """
    if len(train_clips) == 0 or len(val_clips) == 0:
        raise InputError("the familiarity check needs training and validation clips")
    bank = clip_embeddings(train_clips)
    if len(bank) > MAX_BANK:
        keep = np.random.default_rng(seed).choice(len(bank), MAX_BANK, replace=False)
        bank = bank[np.sort(keep)]
    bank = bank.astype(np.float16).astype(np.float32)  # as it will be read back
    val_scores = knn_distance(bank, clip_embeddings(val_clips), k)
    threshold = float(np.quantile(val_scores, quantile))
    return Familiarity(bank, int(k), float(quantile), threshold)
