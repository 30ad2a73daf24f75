"""Aggregators (frame outputs -> one clip label) and video-level evaluation of a run.

Aggregators, each returning the classes ranked best first and a confidence:

* ``mode``: the reference majority vote of per-frame argmax labels. Deterministic
  tie-break: among classes with the most votes, the one with the highest mean
  frame probability wins, then the lowest label. The confidence is the vote share.
* ``mean``: the class of highest mean frame probability (confidence: that mean).
* ``temporal``: the clip output of a temporal head.
* ``linear``: the clip output of the linear head (on mean-pooled features).

``evaluate(run_dir)`` scores the test list of the run's split with every aggregator
its head offers and writes ``report.json`` and ``predictions.csv`` into the run. Classes
without test clips are left out of the mean class accuracy and named in the report's
``split_notes``.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidcore import features, runs
from vidcore.data.index import load_index
from vidcore.data.splits import split_notes
from vidcore.errors import InputError, RunError
from vidcore.models.loading import ModelOutput, TrainedModel, load_model
from vidcore.report import AggregatorMetrics, Report

log = logging.getLogger(__name__)

TOP_K = 5


@dataclass(frozen=True)
class Aggregate:
    """One clip-level answer.

    Attributes:
        label: the chosen class id.
        confidence: vote share (``mode``) or probability (others) of ``label``.
        ranking: every class id, best first (for top-k).
        scores: per-class score (vote shares or probabilities), ``(C,)``.
    """

    label: int
    confidence: float
    ranking: np.ndarray
    scores: np.ndarray


def mode_vote(frame_probs: np.ndarray) -> Aggregate:
    """Majority vote of per-frame labels, ties broken by mean probability then lowest label.

    Args:
        frame_probs: ``(T, C)`` per-frame class probabilities.
    """
    frame_probs = np.asarray(frame_probs, np.float64)
    classes = frame_probs.shape[1]
    votes = np.bincount(frame_probs.argmax(1), minlength=classes)
    mean = frame_probs.mean(0)
    # lexsort sorts by the last key first: votes, then mean probability, then label.
    ranking = np.lexsort((np.arange(classes), -mean, -votes))
    shares = votes / len(frame_probs)
    return Aggregate(int(ranking[0]), float(shares[ranking[0]]), ranking, shares)


def mean_vote(frame_probs: np.ndarray) -> Aggregate:
    """The class of highest mean frame probability (ties: lowest label)."""
    return clip_vote(np.asarray(frame_probs, np.float64).mean(0))


def clip_vote(clip_probs: np.ndarray) -> Aggregate:
    """Rank the classes of one clip-level probability vector (ties: lowest label)."""
    probs = np.asarray(clip_probs, np.float64)
    ranking = np.argsort(-probs, kind="stable")
    return Aggregate(int(ranking[0]), float(probs[ranking[0]]), ranking, probs)


def _clip_output(output: ModelOutput) -> Aggregate:
    if output.clip_probs is None:
        raise InputError("this head has no clip-level output; use the mode or mean aggregator")
    return clip_vote(output.clip_probs)


AGGREGATORS: dict[str, Callable[[ModelOutput], Aggregate]] = {
    "mode": lambda out: mode_vote(out.frame_probs),
    "mean": lambda out: mean_vote(out.frame_probs),
    "temporal": _clip_output,
    "linear": _clip_output,
}


def aggregate(output: ModelOutput, name: str) -> Aggregate:
    """Apply aggregator ``name`` to a model output.

    Raises:
        InputError: unknown aggregator (lists the valid ones) or one the head lacks.
    """
    if name not in AGGREGATORS:
        raise InputError(f"unknown aggregator {name!r}; valid names: {', '.join(AGGREGATORS)}")
    return AGGREGATORS[name](output)


# ---------------------------------------------------------------- metrics


def score(name: str, true: np.ndarray, rankings: np.ndarray,
          classes: list[str]) -> AggregatorMetrics:
    """Video-level metrics of one aggregator.

    Args:
        name: aggregator name.
        true: ``(N,)`` true labels.
        rankings: ``(N, C)`` class ids best first, per video.
        classes: class names in label order.
    """
    from sklearn.metrics import confusion_matrix

    true = np.asarray(true)
    pred = rankings[:, 0]
    confusion = confusion_matrix(true, pred, labels=np.arange(len(classes)))
    support = confusion.sum(1)
    per_class = {c: (float(confusion[i, i] / support[i]) if support[i] else None)
                 for i, c in enumerate(classes)}
    present = [v for v in per_class.values() if v is not None]
    return AggregatorMetrics(
        name=name,
        top1=float(np.mean(pred == true)),
        top5=float(np.mean((rankings[:, :TOP_K] == true[:, None]).any(1))),
        mean_class_accuracy=float(np.mean(present)) if present else 0.0,
        per_class=per_class,
        confusion=confusion.tolist(),
    )


def score_outputs(outputs: list[ModelOutput], true, aggregators, classes: list[str]):
    """Score model outputs with several aggregators.

    Returns:
        ``(metrics, answers)``: aggregator -> ``AggregatorMetrics``, and aggregator ->
        per-video ``Aggregate`` list (for the per-video table).
    """
    metrics, answers = {}, {}
    for name in aggregators:
        answers[name] = [aggregate(out, name) for out in outputs]
        rankings = np.stack([a.ranking for a in answers[name]])
        metrics[name] = score(name, np.asarray(true), rankings, classes)
    return metrics, answers


def predictions_table(paths, true, answers: dict, classes: list[str],
                      groups=None, calibrated: dict | None = None) -> str:
    """The per-video CSV: path, true class, the recording (``group``, when known), then
    label/confidence/correct per aggregator, and ``<aggregator>_calibrated_confidence``
    for each aggregator in ``calibrated`` (aggregator -> ``(N,)`` confidences)."""
    calibrated = calibrated or {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "true"] + (["group"] if groups is not None else [])
                    + [f"{a}_{col}" for a in answers for col in ("label", "confidence", "correct")]
                    + [f"{a}_calibrated_confidence" for a in calibrated])
    for i, (path, label) in enumerate(zip(paths, true, strict=True)):
        row = [path, classes[label]] + ([groups[i]] if groups is not None else [])
        for agg in answers.values():
            row += [classes[agg[i].label], f"{agg[i].confidence:.6f}", int(agg[i].label == label)]
        row += [f"{values[i]:.6f}" for values in calibrated.values()]
        writer.writerow(row)
    return buffer.getvalue()


def calibrated_confidences(run_dir: str | os.PathLike, answers: dict) -> dict:
    """Per aggregator with a fitted temperature (``calibration.json``), each clip's
    temperature-scaled confidence of its answer; ``{}`` for a run without one."""
    from vidcore.calibration import apply_temperature, load_calibration

    fitted = (load_calibration(run_dir) or {}).get("aggregators", {})
    out = {}
    for name, clips in answers.items():
        if name in fitted:
            probs = apply_temperature(fitted[name]["temperature"],
                                      probs=np.stack([a.scores for a in clips]))
            out[name] = probs[np.arange(len(clips)), [a.label for a in clips]]
    return out


def with_intervals(metrics: dict, answers: dict, true, groups, num_classes: int) -> dict:
    """``metrics`` with each aggregator's 95% intervals by recording (``vidcore.uncertainty``)."""
    from dataclasses import replace

    from vidcore.uncertainty import accuracy_intervals

    out = {}
    for name, m in metrics.items():
        correct = np.array([a.label == t for a, t in zip(answers[name], true, strict=True)])
        out[name] = replace(m, intervals=accuracy_intervals(groups, true, correct, num_classes))
    return out


# ---------------------------------------------------------------- evaluating a run


def evaluate(run_dir: str | os.PathLike, split: int | None = None,
             store_dir: str | os.PathLike | None = None,
             progress: Callable[[dict], None] | None = None,
             model: TrainedModel | None = None, dataset: str | os.PathLike | None = None,
             save: bool = True) -> Report:
    """Evaluate a run on the test list of its split (or of ``split``).

    Extracts missing test features into the store, scores every aggregator the head
    offers, writes ``predictions.csv`` and ``report.json`` into the run directory.

    Args:
        run_dir: a run directory with a model.
        split: another split number of the same dataset (default: the run's).
        store_dir: feature store root (default: the run's, else the default store).
        progress: receives feature extraction progress dicts.
        model: an already loaded model of this run (skips loading).
        dataset: another copy of the dataset with the same classes (default: the run's).
        save: write ``predictions.csv`` and ``report.json`` into the run directory
            (never into the shipped demo model, whose files are tracked).

    Raises:
        RunError: missing run or model, or classes that differ from the dataset's.
        InputError: the split has no test videos.
    """
    start = time.perf_counter()
    model = model or load_model(run_dir)
    run_dir, cfg = Path(model.run_dir), model.config
    split = split or cfg["split"]
    own = runs.dataset_of(cfg)
    dataset = str(dataset or own)
    index = load_index(dataset, cfg["format"] if dataset == own else "auto", split,
                       cfg["splits"], cfg["test_fraction"], cfg["split_seed"])
    if list(index.classes) != list(model.classes):
        raise RunError(f"the dataset's classes differ from the classes the run {run_dir} "
                       "was trained on; evaluate on the dataset it was trained with")
    if not index.test:
        raise InputError(f"split {split} of {dataset} has no test videos: "
                         f"{'; '.join(split_notes(index)) or 'add test clips'}")
    paths = [index.path_of(r) for r in index.test]
    feats, summary = features.load_features(paths, model.feature_spec,
                                            store_dir or cfg.get("store_dir"), progress)
    kept = [(r, f) for r, f in zip(index.test, feats, strict=True) if f is not None]
    if not kept:
        raise InputError(f"no test video of split {split} could be read")
    outputs = model.predict_many([f for _, f in kept])
    true = np.array([r.label for r, _ in kept])
    metrics, answers = score_outputs(outputs, true, model.spec.aggregators, model.classes)
    groups = [r.group for r, _ in kept]
    metrics = with_intervals(metrics, answers, true, groups, len(model.classes))
    csv_path = run_dir / runs.PREDICTIONS
    table = predictions_table([r.path for r, _ in kept], true, answers, model.classes,
                              groups, calibrated_confidences(run_dir, answers))
    report = Report(str(run_dir), split, cfg["head"], cfg["backbone"], list(model.classes),
                    len(kept), model.primary, metrics, list(summary.failed), str(csv_path),
                    time.perf_counter() - start, split_notes(index))
    if save and run_dir.resolve() == runs.DEMO_MODEL_DIR.resolve():
        log.info("not rewriting the shipped demo model's report in %s", run_dir)
    elif save:
        runs.write_text(csv_path, table)
        runs.write_json(run_dir / runs.REPORT, report.to_dict())
    log.info("%s: %s top-1 %.3f on %d videos", run_dir, report.primary, report.top1, len(kept))
    return report
