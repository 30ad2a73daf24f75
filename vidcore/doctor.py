"""Health checks of the feature store and run directories (``vidcore doctor``).

Everything vidcore writes is atomic, so damage comes from outside: a disk that filled
up under another program, a copy interrupted half-way, a hand edit. The doctor finds
it, and with ``fix=True`` removes what can be recomputed (store entries, stale temp
files). Run directories are user work: they are reported, never deleted.
"""

from __future__ import annotations

import json
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vidcore import runs
from vidcore.errors import InputError, WeightsError
from vidcore.features import (
    ENTRY_KEYS,
    STALE_TEMP_SECONDS,
    TEMP_PREFIX,
    FeatureSpec,
    default_store_dir,
    entry_files,
)
from vidcore.models import engines


def engine_report() -> dict:
    """The default backbone's engine on this machine, without measuring (doctor, Home):
    ``{"backbone", "engine", "precision", "source", "reason", "figures", "line"}``."""
    spec = FeatureSpec()
    if not engines.weights_ready(spec):
        # Choosing would convert the weights first: TensorFlow in the caller (Home).
        line = "to be chosen on first use (the backbone's weights are converted then)"
        return {"backbone": spec.backbone, "engine": None, "precision": None,
                "source": "pending", "reason": line, "figures": {}, "line": line}
    try:
        choice = engines.choose(spec, measure=False)
    except (InputError, WeightsError) as err:
        return {"backbone": spec.backbone, "engine": None, "precision": None,
                "source": "error", "reason": str(err), "figures": {}, "line": str(err)}
    return {"backbone": spec.backbone, **choice.to_dict(), "line": engines.describe(choice)}


@dataclass
class DoctorReport:
    """What the checks found."""

    store: str
    feature_sets: int = 0
    entries: int = 0
    damaged_entries: list[dict] = field(default_factory=list)  # {"path", "problem"}
    stale_temp_files: list[str] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    engine: dict = field(default_factory=dict)  # the default backbone's, and why

    @property
    def healthy(self) -> bool:
        """True when nothing is damaged."""
        return not (self.damaged_entries or self.stale_temp_files
                    or any(r["problems"] for r in self.runs))

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return {**asdict(self), "healthy": self.healthy}


def entry_problem(path: Path) -> str | None:
    """Why a store entry is unusable, or None when it reads back whole."""
    try:
        with np.load(path, allow_pickle=False) as data:
            feats, times, ids = (data[k] for k in ENTRY_KEYS)
    except Exception as err:  # any failure to read is damage, whatever its type
        return f"unreadable ({type(err).__name__})"
    if feats.ndim != 2 or not len(ids) == len(times) == feats.shape[0] or not len(ids):
        return "inconsistent shapes"
    if not np.isfinite(feats).all():
        return "non-finite features"
    return None


def check_store(store_dir: Path, report: DoctorReport) -> None:
    """Check every entry and temp file of the store; record problems in ``report``."""
    if not store_dir.is_dir():
        return
    now = time.time()
    for folder in sorted(p for p in store_dir.iterdir() if p.is_dir()):
        report.feature_sets += 1
        for entry in entry_files(folder):
            report.entries += 1
            if problem := entry_problem(entry):
                report.damaged_entries.append({"path": str(entry), "problem": problem})
        for tmp in folder.glob(f"**/{TEMP_PREFIX}*"):
            if now - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                report.stale_temp_files.append(str(tmp))


def run_problems(run_dir: Path) -> list[str]:
    """What is wrong with one run directory (empty when it is usable)."""
    problems = []
    for name in (runs.CONFIG, runs.CLASSES):
        try:
            json.loads((run_dir / name).read_text())
        except (OSError, ValueError):
            problems.append(f"{name} missing or damaged")
    state = runs.read_status(run_dir).get("state")
    model = runs.model_file(run_dir)
    if model is None and state in ("finished", "stopped"):
        problems.append(f"status says {state} but there is no model file")
    elif model is not None and not _model_readable(model):
        problems.append(f"{model.name} is damaged")
    return problems


def _model_readable(path: Path) -> bool:
    """Whether a saved model file reads back whole (no model code is run)."""
    if path.suffix == ".keras":  # a zip archive: check every member's CRC
        try:
            with zipfile.ZipFile(path) as archive:
                return archive.testzip() is None
        except (OSError, zipfile.BadZipFile):
            return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return all(data[k] is not None for k in data.files)
    except Exception:  # any failure to read is damage, whatever its type
        return False


def check_runs(runs_dir: Path, report: DoctorReport) -> None:
    """Check every run directory under ``runs_dir`` (and the shipped demo model)."""
    dirs = [p for p in sorted(runs_dir.iterdir()) if (p / runs.CONFIG).exists()] \
        if runs_dir.is_dir() else []
    for run_dir in [*dirs, runs.DEMO_MODEL_DIR]:
        if run_dir.is_dir():
            status = runs.read_status(run_dir)
            report.runs.append({"run": str(run_dir), "state": status.get("state", "unknown"),
                                "problems": run_problems(run_dir)})


def doctor(store_dir=None, runs_dir=None, fix: bool = False) -> DoctorReport:
    """Check the feature store and the run directories.

    Args:
        store_dir: feature store root (default ``features/``).
        runs_dir: run directories root (default ``runs/``).
        fix: delete damaged store entries and stale temp files (they are recomputed
            on the next extraction); runs are only reported.

    Returns:
        A ``DoctorReport``.
    """
    store = Path(store_dir) if store_dir else default_store_dir()
    report = DoctorReport(str(store))
    check_store(store, report)
    check_runs(Path(runs_dir) if runs_dir else runs.default_runs_dir(), report)
    report.engine = engine_report()
    if fix:
        for path in [d["path"] for d in report.damaged_entries] + report.stale_temp_files:
            Path(path).unlink(missing_ok=True)
            report.removed.append(path)
    return report
