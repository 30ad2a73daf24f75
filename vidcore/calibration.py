"""Whether "90% sure" means right nine times in ten: reliability, ECE, temperature scaling.

Reliability bins are equal-width over [0, 1] and right-closed, as in Guo et al. 2017
("On calibration of modern neural networks"): bin m of M holds the confidences in
((m-1)/M, m/M], the first also 0. The expected calibration error (ECE) is the mean
over clips of |accuracy - confidence| of their bin: sum_m (n_m / N) |acc_m - conf_m|.

Temperature scaling divides a clip's log-probabilities by one number T, fitted on the
validation clips by minimising their negative log-likelihood: T > 1 softens an
over-confident model, T < 1 sharpens a timid one, and the ranking of classes (hence
every top-1 and top-5 figure) is unchanged. It applies to probability aggregators
(``temporal``, ``linear``, ``mean``: for ``mean``, to the log of the mean frame
probabilities); the ``mode`` vote share counts frames and is not a probability, so it
gets a reliability diagram and an ECE but no temperature.

A run keeps its temperatures in ``calibration.json`` (``CALIBRATION``); for the
shipped demo model's 118 validation clips, for instance::

    {"format": 1, "method": "temperature", "fitted_on": "validation", "clips": 118,
     "bins": 15,
     "aggregators": {"temporal": {"temperature": 0.91184, "nll_before": 0.13908,
                                  "nll_after": 0.138294, "ece_before": 0.045955,
                                  "ece_after": 0.034346}, "mean": {...}}}

Training writes it once the kept checkpoint is final (``vidcore.trust``); a run
without it (older runs) reads as temperature 1 everywhere.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from vidcore.errors import InputError

CALIBRATION = "calibration.json"
FORMAT = 1
BINS = 15  # Guo et al. 2017's choice; 10-20 is usual, fewer hides miscalibration
TEMPERATURE_RANGE = (0.05, 20.0)  # a fitted T outside this says the data is degenerate
EPS = 1e-12
CALIBRATED = ("temporal", "linear", "mean")  # aggregators whose confidence is a probability


def _checked(confidence, correct) -> tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(confidence, np.float64)
    right = np.asarray(correct).astype(bool)
    if conf.shape != right.shape or conf.ndim != 1 or conf.size == 0:
        raise InputError(f"need one confidence and one right/wrong per clip, at least one "
                         f"(got shapes {conf.shape} and {right.shape})")
    if np.any((conf < 0) | (conf > 1)) or not np.all(np.isfinite(conf)):
        raise InputError("confidences must lie in [0, 1]")
    return conf, right


def reliability(confidence, correct, bins: int = BINS) -> dict:
    """Reliability-diagram data and ECE of one aggregator's test answers.

    Args:
        confidence: ``(N,)`` confidence of each answer, in [0, 1].
        correct: ``(N,)`` whether each answer was right.
        bins: equal-width bins over [0, 1].

    Returns:
        ``{"ece", "clips", "bins": [{"low", "high", "clips", "confidence", "accuracy"}]}``;
        an empty bin has ``confidence`` and ``accuracy`` None.
    """
    conf, right = _checked(confidence, correct)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.digitize(conf, edges[1:-1], right=True)  # right-closed: (low, high]
    rows, ece = [], 0.0
    for b in range(bins):
        member = which == b
        n = int(member.sum())
        mean_conf = float(conf[member].mean()) if n else None
        accuracy = float(right[member].mean()) if n else None
        if n:
            ece += n / len(conf) * abs(accuracy - mean_conf)
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "clips": n,
                     "confidence": mean_conf, "accuracy": accuracy})
    return {"ece": float(ece), "clips": int(len(conf)), "bins": rows}


def expected_calibration_error(confidence, correct, bins: int = BINS) -> float:
    """The ECE of ``reliability`` (equal-width, right-closed bins)."""
    return reliability(confidence, correct, bins)["ece"]


# ---------------------------------------------------------------- temperature scaling


def _log_probs(probs=None, logits=None) -> np.ndarray:
    """Logits to work with: ``logits`` as given, else the log of ``probs`` (the same
    logits up to a per-clip constant, which a softmax ignores)."""
    if (probs is None) == (logits is None):
        raise InputError("give either probabilities or logits, not both or neither")
    if logits is not None:
        z = np.asarray(logits, np.float64)
    else:
        z = np.log(np.clip(np.asarray(probs, np.float64), EPS, None))
    if z.ndim != 2 or z.shape[1] < 2:
        raise InputError(f"need a (clips, classes) array with 2 or more classes, got {z.shape}")
    return z


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def negative_log_likelihood(z: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean NLL of ``labels`` under ``softmax(z / temperature)``."""
    from scipy.special import log_softmax

    return float(-np.mean(log_softmax(z / temperature, axis=1)[np.arange(len(z)), labels]))


def fit_temperature(labels, probs=None, logits=None) -> float:
    """The temperature that minimises the NLL of ``labels`` (fit it on validation clips).

    Args:
        labels: ``(N,)`` true class ids.
        probs: ``(N, C)`` probabilities, or
        logits: ``(N, C)`` logits (exactly one of the two).

    Returns:
        T, within ``TEMPERATURE_RANGE`` (its bounds when the data push past them,
        e.g. every validation clip right, where the NLL keeps falling as T -> 0).
    """
    from scipy.optimize import minimize_scalar

    z, labels = _log_probs(probs, logits), np.asarray(labels, np.int64)
    if len(labels) != len(z):
        raise InputError(f"{len(labels)} labels for {len(z)} clips")
    low, high = map(math.log, TEMPERATURE_RANGE)
    # searched on log T: the NLL is smooth there and T stays positive
    result = minimize_scalar(lambda log_t: negative_log_likelihood(z, labels, math.exp(log_t)),
                             bounds=(low, high), method="bounded", options={"xatol": 1e-6})
    return float(math.exp(result.x))


def apply_temperature(temperature: float, probs=None, logits=None) -> np.ndarray:
    """Calibrated probabilities ``softmax(log p / T)`` (or ``softmax(z / T)``), ``(N, C)``.

    A single clip's ``(C,)`` vector comes back as ``(C,)``.
    """
    single = np.ndim(probs if logits is None else logits) == 1
    z = _log_probs(*(None if x is None else np.atleast_2d(x) for x in (probs, logits)))
    out = _softmax(z / float(temperature))
    return out[0] if single else out


def fit_calibration(val_probs: dict[str, np.ndarray], val_labels, bins: int = BINS) -> dict:
    """Temperatures per probability aggregator, with NLL and ECE before and after.

    Args:
        val_probs: aggregator name -> ``(N, C)`` clip probabilities of the validation
            clips (aggregators not in ``CALIBRATED``, i.e. ``mode``, are ignored).
        val_labels: ``(N,)`` true class ids of those clips.
        bins: reliability bins of the ECE figures.

    Returns:
        The ``calibration.json`` content (see the module docstring).
    """
    labels = np.asarray(val_labels, np.int64)
    fitted = {}
    for name, probs in val_probs.items():
        if name not in CALIBRATED:
            continue
        z = _log_probs(probs)
        t = fit_temperature(labels, logits=z)
        after = _softmax(z / t)
        fitted[name] = {"temperature": round(t, 6),
                        "nll_before": round(negative_log_likelihood(z, labels, 1.0), 6),
                        "nll_after": round(negative_log_likelihood(z, labels, t), 6),
                        "ece_before": round(_top_ece(_softmax(z), labels, bins), 6),
                        "ece_after": round(_top_ece(after, labels, bins), 6)}
    return {"format": FORMAT, "method": "temperature", "fitted_on": "validation",
            "clips": int(len(labels)), "bins": bins, "aggregators": fitted}


def _top_ece(probs: np.ndarray, labels: np.ndarray, bins: int) -> float:
    return expected_calibration_error(probs.max(1), probs.argmax(1) == labels, bins)


# ---------------------------------------------------------------- in a run


def save_calibration(run_dir: str | os.PathLike, calibration: dict) -> Path:
    """Write ``calibration.json`` into a run (atomically)."""
    from vidcore.runs import write_json

    path = Path(run_dir) / CALIBRATION
    write_json(path, calibration)
    return path


def load_calibration(run_dir: str | os.PathLike) -> dict | None:
    """A run's ``calibration.json``, or None when it has none (or an unreadable one)."""
    from vidcore.runs import read_json

    data = read_json(Path(run_dir) / CALIBRATION)
    ok = isinstance(data, dict) and data.get("format") == FORMAT
    return data if ok and isinstance(data.get("aggregators"), dict) else None


def temperature_of(calibration: dict | None, aggregator: str) -> float:
    """The temperature of one aggregator; 1 (no change) when the run has none for it."""
    entry = (calibration or {}).get("aggregators", {}).get(aggregator) or {}
    t = entry.get("temperature")
    return float(t) if isinstance(t, int | float) and t > 0 else 1.0


def calibrated_scores(calibration: dict | None, aggregator: str, scores) -> np.ndarray:
    """One answer's class scores as shown to people: tempered probabilities for a
    calibrated aggregator, the scores unchanged otherwise (the ``mode`` vote shares)."""
    t = temperature_of(calibration, aggregator)
    if aggregator not in CALIBRATED or t == 1.0:
        return np.asarray(scores, np.float64)
    return apply_temperature(t, probs=scores)
