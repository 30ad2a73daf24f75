"""One run against another on the same test clips: is the difference real or luck?

``compare_runs(a, b)`` reads both runs' stored evaluations and returns plain data:
each run's verdict (its primary aggregator) top-1 with its interval by recording,
the four agreement counts, the exact McNemar p-value, per-class differences and the
clips where the verdicts differ. Runs evaluated on different clips are refused:
paired counts only mean something clip by clip.
"""

from __future__ import annotations

import os

import numpy as np

from vidcore.errors import RunError
from vidcore.results import RunResults, load_results
from vidcore.uncertainty import accuracy_intervals, agreement_counts, mcnemar


def check_same_test_set(a: RunResults, b: RunResults) -> None:
    """Refuse two evaluations that are not of the same clips with the same classes.

    Raises:
        RunError: different classes, or different test clips (or true classes).
    """
    if list(a.classes) != list(b.classes):
        raise RunError(f"runs {a.run_dir.name} and {b.run_dir.name} know different classes; "
                       "compare runs trained on the same dataset")
    clips_a = dict(zip(a.paths, a.true.tolist(), strict=True))
    clips_b = dict(zip(b.paths, b.true.tolist(), strict=True))
    if clips_a != clips_b:
        common = len(set(clips_a) & set(clips_b))
        raise RunError(f"runs {a.run_dir.name} and {b.run_dir.name} were tested on different "
                       f"clips ({len(clips_a)} and {len(clips_b)}, {common} in common); "
                       "evaluate both on the same dataset and split")


def _aligned(a: RunResults, b: RunResults) -> np.ndarray:
    """Row order of b's clips that puts them in a's order."""
    where = {p: i for i, p in enumerate(b.paths)}
    return np.array([where[p] for p in a.paths], np.int64)


def verdict_summary(results: RunResults, **options) -> dict:
    """A run's verdict figures: top-1 and mean class accuracy with their intervals."""
    report, primary = results.report, results.primary
    metrics = report["aggregators"][primary]
    ci = accuracy_intervals(results.require_groups(), results.true,
                            results.answers[primary].correct, len(results.classes), **options)
    cfg = results.config
    return {"run_dir": str(results.run_dir), "name": results.run_dir.name,
            "head": report.get("head"), "backbone": report.get("backbone"),
            "preset": cfg.get("preset"), "aggregator": primary, "top1": metrics["top1"],
            "top1_ci": ci["top1_ci"], "mean_class_accuracy": metrics["mean_class_accuracy"],
            "mean_class_accuracy_ci": ci["mean_class_accuracy_ci"]}


def per_class_differences(a: RunResults, b: RunResults, order: np.ndarray) -> list[dict]:
    """Per class with test clips: clips, each run's verdict top-1, and ``b - a``."""
    right_a = a.answers[a.primary].correct
    right_b = b.answers[b.primary].correct[order]
    rows = []
    for c, name in enumerate(a.classes):
        member = a.true == c
        if not member.any():
            continue
        acc_a, acc_b = float(right_a[member].mean()), float(right_b[member].mean())
        rows.append({"class": name, "clips": int(member.sum()), "a": acc_a, "b": acc_b,
                     "difference": acc_b - acc_a})
    return rows


def disagreements(a: RunResults, b: RunResults, order: np.ndarray) -> list[dict]:
    """The clips whose verdicts differ, those only one run gets right first."""
    va, vb = a.answers[a.primary], b.answers[b.primary]
    rows = []
    for i in np.flatnonzero(va.label != vb.label[order]):
        j = order[i]
        rows.append({"path": a.paths[i], "true": a.classes[a.true[i]],
                     "a_label": a.classes[va.label[i]], "a_confidence": float(va.confidence[i]),
                     "a_correct": bool(va.correct[i]), "b_label": b.classes[vb.label[j]],
                     "b_confidence": float(vb.confidence[j]), "b_correct": bool(vb.correct[j])})
    return sorted(rows, key=lambda r: (r["a_correct"] == r["b_correct"], r["true"], r["path"]))


def compare_runs(run_a: str | os.PathLike, run_b: str | os.PathLike, split: int | None = None,
                 **options) -> dict:
    """Compare two evaluated runs clip by clip.

    Args:
        run_a: the first run (differences read ``b - a``).
        run_b: the second run.
        split: require both stored evaluations to be of this split.
        **options: interval options (``confidence``, ``resamples``, ``seed``).

    Returns:
        ``{"split", "clips", "a", "b", "both_right", "only_a", "only_b", "both_wrong",
        "p_value", "per_class": [...], "disagreements": [...]}``.

    Raises:
        RunError: a run is not evaluated (on ``split``), or the test sets differ.
    """
    a, b = load_results(run_a, split), load_results(run_b, split)
    if a.split != b.split:
        raise RunError(f"run {a.run_dir.name} was evaluated on split {a.split} and "
                       f"{b.run_dir.name} on split {b.split}; pass --split K after "
                       "evaluating both on it")
    check_same_test_set(a, b)
    order = _aligned(a, b)
    counts = agreement_counts(a.answers[a.primary].correct, b.answers[b.primary].correct[order])
    return {"split": a.split, "clips": len(a.paths),
            "a": verdict_summary(a, **options), "b": verdict_summary(b, **options),
            **counts, "p_value": mcnemar(counts["only_a"], counts["only_b"]),
            "per_class": per_class_differences(a, b, order),
            "disagreements": disagreements(a, b, order)}
