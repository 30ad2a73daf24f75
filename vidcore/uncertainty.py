"""How sure a test figure is: bootstrap intervals by recording, and exact McNemar.

Clips cut from one recording (a UCF101 group) share actor, scene and camera, so they
are not independent draws: a bootstrap that resamples clips would claim intervals
far narrower than the test set supports. ``accuracy_intervals`` resamples whole
groups (recordings) with replacement, ``scipy.stats.bootstrap`` doing the resampling
and the percentile interval on the group indices; each resample's top-1 is its right
clips over its clips, and its mean class accuracy averages the classes that have a
clip in that resample (classes absent from a resample are left out of its mean, as
``vidcore.evaluate.score`` leaves out classes without test clips).

``mcnemar`` is the exact two-sided McNemar test of two classifiers on the same clips:
a binomial test of the discordant clips (only one of the two right) against 1/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidcore.errors import InputError

CONFIDENCE = 0.95
# Enough for a percentile interval (Efron & Tibshirani: 1000-2000). At UCF101 size
# (benchmarks/uncertainty.py: 3,783 clips, 699 recordings, 101 classes) the endpoints
# land within 0.0003 of 9,999 resamples' at a quarter to a sixth of the time.
RESAMPLES = 2000
SEED = 0
BATCH_CELLS = 1 << 22  # resample x group cells per vectorised batch: 32 MB at any size


@dataclass(frozen=True)
class GroupCounts:
    """Right and total clips per group and true class: what a bootstrap resamples.

    Attributes:
        right: ``(G, C)`` clips of group g, true class c, that were predicted right.
        total: ``(G, C)`` clips of group g, true class c.
        groups: the group names, in row order.
    """

    right: np.ndarray
    total: np.ndarray
    groups: tuple[str, ...]


def group_counts(groups, true, correct, num_classes: int) -> GroupCounts:
    """Tally per-clip results into per-group, per-class counts.

    Args:
        groups: ``(N,)`` group (recording) name of each clip.
        true: ``(N,)`` true class ids.
        correct: ``(N,)`` whether each clip was predicted right (bool or 0/1).
        num_classes: how many classes the model knows.

    Raises:
        InputError: the three sequences differ in length or are empty.
    """
    groups, true = np.asarray(groups).astype(str), np.asarray(true, np.int64)
    correct = np.asarray(correct).astype(bool)
    if not (len(groups) == len(true) == len(correct)) or len(true) == 0:
        raise InputError(f"need as many groups, labels and results as clips, at least one "
                         f"(got {len(groups)}, {len(true)}, {len(correct)})")
    names, rows = np.unique(groups, return_inverse=True)
    total = np.zeros((len(names), num_classes), np.int64)
    right = np.zeros_like(total)
    np.add.at(total, (rows, true), 1)
    np.add.at(right, (rows, true), correct.astype(np.int64))
    return GroupCounts(right.astype(np.float64), total.astype(np.float64), tuple(names.tolist()))


def top1_of(right: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Top-1 of summed counts ``(..., C)``: right clips over clips, per leading index."""
    return right.sum(-1) / total.sum(-1)


def mean_class_accuracy_of(right: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Mean over the classes that have clips of right/total, per leading index."""
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(total > 0, right / np.maximum(total, 1), np.nan)
    return np.nanmean(per_class, -1)


STATISTICS = {"top1": top1_of, "mean_class_accuracy": mean_class_accuracy_of}


def _resampled(right, total, idx: np.ndarray, statistic) -> np.ndarray:
    """``statistic`` of each resample; ``idx`` is ``(..., G)`` resampled group indices."""
    idx = np.atleast_2d(idx)
    flat = idx.reshape(-1, idx.shape[-1])
    n = flat.shape[1]
    # times each group was drawn in each resample, one bincount for the whole batch
    offsets = flat + n * np.arange(len(flat))[:, None]
    weights = np.bincount(offsets.ravel(), minlength=flat.size).reshape(len(flat), n)
    weights = weights.astype(np.float64)  # BLAS: integer matmul is not
    values = statistic(np.asarray(weights @ right), np.asarray(weights @ total))
    return values.reshape(idx.shape[:-1])


def _operands(counts: GroupCounts, metric: str):
    """What the resample weights multiply: row sums for top-1 (a matrix-vector product),
    sparse per-class counts for the class mean (a group holds clips of one class or a
    few, so (G, C) is mostly zeros: 101 classes cost ~1/101 of a dense product)."""
    if metric == "top1":
        return counts.right.sum(1, keepdims=True), counts.total.sum(1, keepdims=True)
    from scipy.sparse import csr_array

    return csr_array(counts.right), csr_array(counts.total)


def interval(counts: GroupCounts, metric: str = "top1", confidence: float = CONFIDENCE,
             resamples: int = RESAMPLES, seed: int = SEED) -> list[float]:
    """Percentile bootstrap interval of one metric, resampling groups.

    Args:
        counts: ``group_counts`` of the test clips.
        metric: ``top1`` or ``mean_class_accuracy``.
        confidence: the interval's coverage (0.95: a 95% interval).
        resamples: bootstrap resamples.
        seed: seeds the resampling, so a report is reproducible.

    Returns:
        ``[low, high]``; a single group gives the point figure twice (nothing to resample).
    """
    from scipy.stats import bootstrap

    if metric not in STATISTICS:
        raise InputError(f"unknown metric {metric!r}; valid: {', '.join(STATISTICS)}")
    statistic = STATISTICS[metric]
    if len(counts.groups) < 2:
        point = float(statistic(counts.right.sum(0), counts.total.sum(0)))
        return [point, point]
    right, total = _operands(counts, metric)
    result = bootstrap((np.arange(len(counts.groups)),),
                       lambda idx, axis=-1: _resampled(right, total, idx, statistic),
                       n_resamples=resamples, vectorized=True, method="percentile",
                       confidence_level=confidence, rng=np.random.default_rng(seed),
                       batch=max(1, BATCH_CELLS // len(counts.groups)))
    ci = result.confidence_interval
    return [float(ci.low), float(ci.high)]


def accuracy_intervals(groups, true, correct, num_classes: int, **options) -> dict:
    """``top1_ci`` and ``mean_class_accuracy_ci`` of one aggregator's per-clip results.

    Args:
        groups, true, correct, num_classes: as for ``group_counts``.
        **options: ``confidence``, ``resamples``, ``seed`` of ``interval``.

    Returns:
        ``{"top1_ci": [low, high], "mean_class_accuracy_ci": [low, high]}``.
    """
    counts = group_counts(groups, true, correct, num_classes)
    return {"top1_ci": interval(counts, "top1", **options),
            "mean_class_accuracy_ci": interval(counts, "mean_class_accuracy", **options)}


# ---------------------------------------------------------------- two classifiers


def agreement_counts(a_correct, b_correct) -> dict[str, int]:
    """``both_right``, ``only_a``, ``only_b``, ``both_wrong`` of two runs on the same clips.

    Raises:
        InputError: the two result lists differ in length.
    """
    a, b = np.asarray(a_correct).astype(bool), np.asarray(b_correct).astype(bool)
    if a.shape != b.shape:
        raise InputError(f"the two runs have results for {a.size} and {b.size} clips; "
                         "compare them on the same test clips")
    return {"both_right": int(np.sum(a & b)), "only_a": int(np.sum(a & ~b)),
            "only_b": int(np.sum(~a & b)), "both_wrong": int(np.sum(~a & ~b))}


def mcnemar(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value from the discordant counts.

    Under "both runs are equally good", each clip only one of them gets right is as
    likely to favour either, so ``only_a`` ~ Binomial(only_a + only_b, 1/2). No
    discordant clip at all is no evidence of a difference: p = 1.
    """
    from scipy.stats import binomtest

    n = int(only_a) + int(only_b)
    if n == 0:
        return 1.0
    return float(binomtest(int(only_a), n, 0.5, alternative="two-sided").pvalue)
