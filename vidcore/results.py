"""A run's stored evaluation read back as arrays: what compare and the report start from.

``vidcore evaluate`` leaves ``report.json`` (figures per aggregator) and
``predictions.csv`` (per test clip: path, true class, then label, confidence and
correct per aggregator) in the run. ``load_results`` reads both, checks they agree,
and finds each clip's recording (group): from a ``group`` column of the CSV when
evaluation wrote one, else from the run's dataset index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidcore import runs
from vidcore.errors import RunError


@dataclass(frozen=True)
class Answers:
    """One aggregator's answers to every test clip, in CSV order.

    Attributes:
        label: ``(N,)`` predicted class ids.
        confidence: ``(N,)`` shown confidence (vote share for ``mode``).
        correct: ``(N,)`` bool.
        calibrated: ``(N,)`` temperature-scaled confidence, when evaluation wrote one.
    """

    label: np.ndarray
    confidence: np.ndarray
    correct: np.ndarray
    calibrated: np.ndarray | None = None


@dataclass(frozen=True)
class RunResults:
    """The stored evaluation of one run.

    Attributes:
        run_dir: the run.
        config: its ``config.json``.
        classes: class names in label order.
        report: its ``report.json``.
        paths: test clip paths relative to the dataset root, in CSV order.
        true: ``(N,)`` true class ids.
        answers: aggregator -> ``Answers``, the primary first.
        groups: recording of each clip, or None when no source knows them.
    """

    run_dir: Path
    config: dict
    classes: list[str]
    report: dict
    paths: list[str]
    true: np.ndarray
    answers: dict[str, Answers]
    groups: list[str] | None = field(default=None)

    @property
    def primary(self) -> str:
        """The head's own aggregator (its verdict)."""
        return self.report["primary"]

    @property
    def split(self) -> int:
        """The split the stored evaluation tested on."""
        return int(self.report["split"])

    def require_groups(self) -> list[str]:
        """The clips' recordings, or a ``RunError`` saying how to make them known."""
        if self.groups is None:
            raise RunError(f"the recordings (groups) of the test clips of {self.run_dir} are "
                           f"unknown: its dataset {self.config.get('dataset')} cannot be read; "
                           "put the dataset back or evaluate the run again")
        return self.groups


def load_results(run_dir: str | os.PathLike, split: int | None = None) -> RunResults:
    """Read a run's ``report.json`` and ``predictions.csv``.

    Args:
        run_dir: an evaluated run.
        split: refuse unless the stored evaluation is of this split.

    Raises:
        RunError: not a run, not evaluated (or of another split), or a table that does
            not match its report.
    """
    run_dir = runs.check_run_dir(run_dir, need_model=False)
    report = runs.read_json(run_dir / runs.REPORT)
    classes = runs.read_json(run_dir / runs.CLASSES)
    if not isinstance(report, dict) or not isinstance(classes, list):
        raise RunError(f"run {run_dir} has not been evaluated; run 'vidcore evaluate "
                       f"{run_dir}' first")
    if split is not None and int(report.get("split", -1)) != split:
        raise RunError(f"run {run_dir} was evaluated on split {report.get('split')}, not "
                       f"{split}; run 'vidcore evaluate {run_dir} --split {split}' first")
    config = runs.read_json(run_dir / runs.CONFIG, {}) or {}
    table = _read_table(run_dir, list(report.get("aggregators", {})))
    index = {c: i for i, c in enumerate(classes)}
    true = _ids(table["true"], index, run_dir)
    answers = {name: _answers(table, name, true, index, run_dir)
               for name in report["aggregators"]}
    paths = table["path"].astype(str).tolist()
    groups = table["group"].astype(str).tolist() if "group" in table else None
    results = RunResults(run_dir, config, classes, report, paths, true, answers, groups)
    return results if groups is not None else _with_index_groups(results)


def _read_table(run_dir: Path, aggregators: list[str]):
    from vidcore.views.tables import read_predictions

    table = read_predictions(run_dir / runs.PREDICTIONS)
    wanted = ["path", "true"] + [f"{a}_{c}" for a in aggregators
                                 for c in ("label", "confidence", "correct")]
    missing = [c for c in wanted if c not in table]
    if missing or table.empty:
        raise RunError(f"{run_dir / runs.PREDICTIONS} is missing or lacks columns "
                       f"({', '.join(missing) or 'no rows'}); run 'vidcore evaluate "
                       f"{run_dir}' again")
    return table


def _ids(names, index: dict, run_dir: Path) -> np.ndarray:
    unknown = sorted(set(names.astype(str)) - set(index))
    if unknown:
        raise RunError(f"{run_dir / runs.PREDICTIONS} names classes the run does not have "
                       f"({', '.join(unknown[:3])}); evaluate it again")
    return np.array([index[n] for n in names.astype(str)], np.int64)


def _answers(table, name: str, true: np.ndarray, index: dict, run_dir: Path) -> Answers:
    label = _ids(table[f"{name}_label"], index, run_dir)
    calibrated = table.get(f"{name}_calibrated_confidence")
    return Answers(label, table[f"{name}_confidence"].to_numpy(np.float64), label == true,
                   None if calibrated is None else calibrated.to_numpy(np.float64))


def _with_index_groups(results: RunResults) -> RunResults:
    """``results`` with each clip's group from the run's dataset index, when readable."""
    from dataclasses import replace

    index = dataset_index(results)
    if index is None:
        return results
    records = [index.find(p) for p in results.paths]
    if any(r is None for r in records):
        return results
    return replace(results, groups=[r.group for r in records])


def dataset_index(results: RunResults):
    """The run's dataset index at the evaluated split, or None when it cannot be read."""
    from vidcore.data.index import load_index
    from vidcore.errors import VidcoreError

    cfg = results.config
    try:
        return load_index(runs.dataset_of(cfg), cfg.get("format", "auto"), results.split,
                          cfg.get("splits"), cfg.get("test_fraction", 0.3),
                          cfg.get("split_seed", 0))
    except (VidcoreError, OSError, KeyError):
        return None


def intervals(results: RunResults, **options) -> dict[str, dict]:
    """``top1_ci`` and ``mean_class_accuracy_ci`` of every aggregator, by recording.

    Args:
        results: ``load_results`` output (its groups must be known).
        **options: ``confidence``, ``resamples``, ``seed`` (see ``vidcore.uncertainty``).
    """
    from vidcore.uncertainty import accuracy_intervals

    groups = results.require_groups()
    return {name: accuracy_intervals(groups, results.true, a.correct, len(results.classes),
                                     **options) for name, a in results.answers.items()}
