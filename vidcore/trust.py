"""How far to trust a run's answers: what training adds to a run, what predictions read.

At the end of training (``fit_trust``) the kept model scores the validation clips,
which are whole recordings held out of fitting, and two files join the run:

* ``calibration.json``: a temperature per probability aggregator (``vidcore.calibration``);
* ``familiarity.npz``: the training clips' mean features and the threshold beyond
  which a clip looks like nothing the model was trained on (``vidcore.familiarity``).

Predictions load both once per model (``Trust.load``) and ask ``confidence`` for the
confidence to show and ``check`` for the familiarity verdict. Runs trained before
this have neither file: their confidences show unchanged and ``check`` says None.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidcore.calibration import (
    CALIBRATION,
    calibrated_scores,
    fit_calibration,
    load_calibration,
    save_calibration,
)
from vidcore.familiarity import FAMILIARITY, Familiarity, fit_familiarity


def _as_video(features: np.ndarray):
    """Training keeps bare ``(T, D)`` arrays; the model scores ``VideoFeatures``."""
    from vidcore.features import VideoFeatures

    return VideoFeatures(features, np.zeros(len(features)), np.arange(len(features)))


def validation_probabilities(model, val_x) -> dict[str, np.ndarray]:
    """Per aggregator of the model, the ``(N, C)`` class scores of the validation clips."""
    from vidcore.evaluate import aggregate

    outputs = model.predict_many([_as_video(x) for x in val_x])
    return {name: np.stack([aggregate(o, name).scores for o in outputs])
            for name in model.spec.aggregators}


def fit_trust(run_dir: str | os.PathLike, train_x, val_x, val_y, model=None) -> dict:
    """Fit and write a run's ``calibration.json`` and ``familiarity.npz``.

    Args:
        run_dir: the run, its kept checkpoint final.
        train_x: per training clip, its ``(T, D)`` features.
        val_x: per validation clip, the same; ``val_y`` their labels.
        model: the run's loaded model (default: loaded from ``run_dir``).

    Returns:
        ``{"calibration": <calibration.json>, "familiarity": {"threshold", "k",
        "quantile", "clips"}}`` for the training log.
    """
    from vidcore.models.loading import load_model

    model = model or load_model(run_dir)
    calibration = fit_calibration(validation_probabilities(model, val_x), val_y)
    save_calibration(run_dir, calibration)
    familiarity = fit_familiarity(train_x, val_x)
    familiarity.save(run_dir)
    return {"calibration": calibration,
            "familiarity": {"threshold": familiarity.threshold, "k": familiarity.k,
                            "quantile": familiarity.quantile, "clips": len(familiarity.bank)}}


@dataclass(frozen=True)
class Trust:
    """A run's calibration and familiarity, loaded once, asked per prediction.

    Attributes:
        calibration: ``calibration.json`` content, or None.
        familiarity: the ``Familiarity`` of the run, or None.
    """

    calibration: dict | None
    familiarity: Familiarity | None

    @classmethod
    def load(cls, run_dir: str | os.PathLike) -> Trust:
        """What the run has of both (either may be None).

        Raises:
            RunError: ``familiarity.npz`` is damaged.
        """
        return cls(load_calibration(Path(run_dir)), Familiarity.load(Path(run_dir)))

    def scores(self, aggregator: str, scores) -> np.ndarray:
        """An answer's class scores as shown: temperature-scaled where fitted."""
        return calibrated_scores(self.calibration, aggregator, scores)

    def confidence(self, aggregator: str, scores, label: int) -> float:
        """The confidence to show for ``label``, temperature-scaled where fitted."""
        return float(self.scores(aggregator, scores)[label])

    def check(self, features) -> dict | None:
        """``{"unfamiliar", "unfamiliar_score", "unfamiliar_threshold"}`` of one clip's
        ``(T, D)`` features, or None when the run has no familiarity file."""
        return None if self.familiarity is None else self.familiarity.check(features)


def run_trust(run_dir: str | os.PathLike):
    """The run's ``Trust`` (calibration and familiarity), loaded once per file version."""
    versions = []
    for name in (CALIBRATION, FAMILIARITY):
        try:
            versions.append(os.stat(Path(run_dir) / name).st_mtime_ns)
        except OSError:
            versions.append(0)
    return _trust(str(run_dir), tuple(versions))


@functools.lru_cache(maxsize=4)
def _trust(run_dir: str, versions: tuple):
    return Trust.load(run_dir)
