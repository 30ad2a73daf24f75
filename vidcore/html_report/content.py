"""What the report says, as plain data: every figure it shows, computed from the run.

The page draws these values and embeds them as JSON too, so what a reader sees and
what a script reads from the file are the same numbers, those of ``report.json``.
"""

from __future__ import annotations

import os
from datetime import datetime

import vidcore
from vidcore import runs
from vidcore.calibration import load_calibration, reliability, temperature_of
from vidcore.results import RunResults, dataset_index, intervals, load_results

PAIRS = 10  # most confused pairs listed
EXAMPLES = 2  # mistaken clips shown per pair


def report_content(run_dir: str | os.PathLike, split: int | None = None) -> dict:
    """Everything the report shows about an evaluated run.

    Args:
        run_dir: an evaluated run.
        split: require its stored evaluation to be of this split.

    Returns:
        ``run``, ``dataset``, ``model_card`` (markdown), ``aggregators`` (figures with
        intervals), ``calibration``, ``confusion``, ``confused_pairs``, ``per_class``,
        ``made_at`` and ``vidcore_version``.

    Raises:
        RunError: the run is not evaluated (on ``split``) or its recordings are unknown.
    """
    from vidcore.model_card import model_card

    results = load_results(run_dir, split)
    report, index = results.report, dataset_index(results)
    status = runs.read_status(results.run_dir)
    return {"run": _run_facts(results), "dataset": dataset_facts(results, index),
            "model_card": model_card(results.config, results.classes, report, status),
            "aggregators": aggregator_figures(results),
            "calibration": calibration_figures(results),
            "confusion": {"aggregator": results.primary, "classes": results.classes,
                          "matrix": report["aggregators"][results.primary]["confusion"]},
            "confused_pairs": confused_pairs(results),
            "per_class": per_class(results),
            "made_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "vidcore_version": vidcore.__version__}


def _run_facts(results: RunResults) -> dict:
    cfg, report = results.config, results.report
    return {"dir": str(results.run_dir), "name": results.run_dir.name,
            "head": report.get("head"), "backbone": report.get("backbone"),
            "preset": cfg.get("preset"), "primary": results.primary,
            "split": results.split, "clips": len(results.paths),
            "failed": len(report.get("failed", []))}


def dataset_facts(results: RunResults, index) -> dict:
    """The dataset and split, with the leakage check (recordings on both sides)."""
    facts = {"path": results.config.get("dataset"), "split": results.split,
             "classes": len(results.classes), "readable": index is not None}
    if index is None:
        return facts
    summary = index.summary()
    keys = ("root", "format", "splits_source", "train", "test", "groups", "leaking_groups",
            "leaking_group_names")
    return {**facts, **{k: summary[k] for k in keys}}


def aggregator_figures(results: RunResults) -> list[dict]:
    """Per aggregator, the primary first: top-1, top-5, mean class accuracy, intervals."""
    from vidcore.views.tables import aggregator_label

    cis = intervals(results)
    rows = []
    for name, metrics in results.report["aggregators"].items():
        rows.append({"name": name, "label": aggregator_label(name),
                     "primary": name == results.primary, "top1": metrics["top1"],
                     "top5": metrics["top5"],
                     "mean_class_accuracy": metrics["mean_class_accuracy"], **cis[name]})
    return rows


def calibration_figures(results: RunResults) -> list[dict]:
    """Per aggregator: reliability bins and ECE of its test answers, its temperature,
    and the ECE after temperature scaling when evaluation wrote calibrated confidences."""
    stored = load_calibration(results.run_dir)
    rows = []
    for name, answers in results.answers.items():
        entry = reliability(answers.confidence, answers.correct)
        after = None if answers.calibrated is None else reliability(answers.calibrated,
                                                                     answers.correct)
        fitted = name in (stored or {}).get("aggregators", {})
        rows.append({"aggregator": name, "ece": entry["ece"], "bins": entry["bins"],
                     "temperature": temperature_of(stored, name) if fitted else None,
                     "ece_calibrated": None if after is None else after["ece"],
                     "bins_calibrated": None if after is None else after["bins"]})
    return rows


def _confusion_frame(results: RunResults):
    from vidcore.views.tables import confusion_frame

    return confusion_frame(results.report, results.primary)


def confused_pairs(results: RunResults, top: int = PAIRS, examples: int = EXAMPLES) -> list:
    """The worst mistakes of the verdict, each with a few of its clips (most confident
    first: the mistakes a reader should look at)."""
    from vidcore.confusion import confused_pairs as pairs_of

    answers = results.answers[results.primary]
    rows = []
    for pair in pairs_of(_confusion_frame(results), top).to_dict("records"):
        t, p = results.classes.index(pair["true"]), results.classes.index(pair["predicted"])
        clips = [i for i in range(len(results.paths))
                 if results.true[i] == t and answers.label[i] == p]
        clips.sort(key=lambda i: -answers.confidence[i])
        rows.append({**pair, "clips": int(pair["clips"]), "share": float(pair["share"]),
                     "examples": [{"path": results.paths[i],
                                   "confidence": float(answers.confidence[i])}
                                  for i in clips[:examples]]})
    return rows


def per_class(results: RunResults) -> list[dict]:
    """Per-class accuracy of the verdict with the counts behind it, worst first."""
    from vidcore.confusion import class_accuracy

    frame = class_accuracy(_confusion_frame(results))
    return [{"class": r["class"], "right": int(r["right"]), "clips": int(r["clips"]),
             "accuracy": float(r["accuracy"])} for r in frame.to_dict("records")]
