"""Evaluated run directories written by hand, as ``vidcore train`` + ``evaluate`` leave them.

A CSV-manifest dataset (tiny real videos, or placeholders) and a run whose
``config.json``, ``classes.json``, ``predictions.csv`` and ``report.json`` say exactly
what a test wants each aggregator to have answered; ``report.json`` is computed by
``vidcore.evaluate.score`` from those answers, so its figures are the real ones'.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.conftest import write_video
from vidcore import runs
from vidcore.evaluate import Aggregate, predictions_table, score
from vidcore.report import Report

CLASSES = ["Clap", "Jump", "Run", "Wave"]
GROUPS, CLIPS = 3, 2  # test recordings per class, clips per recording


def make_dataset(root: Path, videos: bool = False,
                 classes: list[str] = CLASSES) -> tuple[Path, list[dict]]:
    """A manifest of 4 classes (or ``classes``) x 3 test recordings x 2 clips, plus one
    training recording per class; ``videos`` writes decodable clips, else placeholders.

    Returns:
        The manifest path and the test rows (``path``, ``label``, ``group``) in order.
    """
    rows, test = ["path,label,group,split"], []
    for c, name in enumerate(classes):
        for g in range(GROUPS + 1):
            for k in range(CLIPS):
                rel = f"{name}/v_{name}_g{g:02d}_c{k:02d}.avi"
                if videos:
                    write_video(root / rel, 12, size=(64 + 8 * c, 48))
                else:
                    (root / name).mkdir(parents=True, exist_ok=True)
                    (root / rel).write_bytes(b"placeholder")
                split = "train" if g == 0 else "test"
                rows.append(f"{rel},{name},g{g},{split}")
                if split == "test":  # the index qualifies a group with its class
                    test.append({"path": rel, "label": c, "group": f"{name}/g{g}"})
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root / "manifest.csv", test


def _aggregate(label: int, confidence: float, classes: int) -> Aggregate:
    scores = np.full(classes, (1 - confidence) / max(1, classes - 1))
    scores[label] = confidence
    ranking = np.r_[label, [c for c in range(classes) if c != label]]
    return Aggregate(label, confidence, ranking, scores)


def write_run(run_dir: Path, dataset: Path, test: list[dict], answers: dict,
              head: str = "temporal_conv", preset: str | None = None,
              group_column: bool = False, classes: list[str] = CLASSES) -> Path:
    """Write an evaluated run.

    Args:
        run_dir: the folder to create.
        dataset: the manifest its config names.
        test: ``make_dataset``'s test rows, in the order evaluation listed them.
        answers: aggregator -> ``(labels, confidences)`` per test clip, the primary first.
        head: the head name recorded.
        preset: the preset name recorded.
        group_column: add the ``group`` column that evaluation will write.
        classes: the class names, as given to ``make_dataset``.
    """
    run_dir.mkdir(parents=True)
    config = {"dataset": str(dataset), "format": "csv", "split": 1, "splits": None,
              "test_fraction": 0.3, "split_seed": 0, "backbone": "efficientnet_lite0",
              "weights": "imagenet", "sampler": {"frames": 8, "name": "uniform"},
              "head": head, "val_fraction": 0.15, "seed": 0, "preset": preset}
    runs.write_json(run_dir / runs.CONFIG, config)
    runs.write_json(run_dir / runs.CLASSES, classes)
    true = np.array([r["label"] for r in test])
    per_clip = {name: [_aggregate(int(lab), float(conf), len(classes))
                       for lab, conf in zip(labels, confs, strict=True)]
                for name, (labels, confs) in answers.items()}
    table = predictions_table([r["path"] for r in test], true, per_clip, classes)
    if group_column:
        lines = table.splitlines()
        table = "\n".join([lines[0] + ",group"] + [f"{line},{r['group']}" for line, r
                                                   in zip(lines[1:], test, strict=True)]) + "\n"
    runs.write_text(run_dir / runs.PREDICTIONS, table)
    metrics = {name: score(name, true, np.stack([a.ranking for a in agg]), classes)
               for name, agg in per_clip.items()}
    report = Report(str(run_dir), 1, head, "efficientnet_lite0", classes, len(test),
                    next(iter(answers)), metrics, [], str(run_dir / runs.PREDICTIONS), 1.0)
    runs.write_json(run_dir / runs.REPORT, report.to_dict())
    runs.write_json(run_dir / runs.STATUS, {"state": "finished", "train_videos": 8,
                                            "val_videos": 2})
    return run_dir


def read_json(path: Path):
    """Parsed JSON of a file."""
    return json.loads(Path(path).read_text())
