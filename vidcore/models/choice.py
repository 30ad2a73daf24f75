"""Which head a run keeps when its preset lets the data decide (``choose_head``).

The default preset trains both the temporal convolution head and the linear head on
the same training recordings and keeps the one with the better **mean class accuracy
on the validation recordings** (ties: the lower class-balanced validation log loss,
then the linear head, the cheaper one). Why both: on the generated demo, whose stick
figures are all motion, the temporal head wins (demo top-1 0.987 against 0.695,
docs/presets.json); on real clips, which are mostly appearance, the class-balanced
linear head wins (ucf101-dev, 15 x 5-fold cross-validation by recording, Lite0 8
frames: linear top-1 0.864 / mean class 0.709 against temporal 0.831 / 0.643;
docs/accuracy.md). When there is no validation recording (every class has a single
training recording) the linear head is kept, on that real-clip evidence.
"""

from __future__ import annotations

import numpy as np

LINEAR = "linear"


def validation_scores(probs: np.ndarray, y: np.ndarray) -> dict:
    """Mean class accuracy, top-1 and class-balanced log loss of clip probabilities.

    Args:
        probs: ``(N, C)`` clip probabilities.
        y: ``(N,)`` true labels.
    """
    probs, y = np.asarray(probs, np.float64), np.asarray(y)
    right = probs.argmax(1) == y
    nll = -np.log(probs[np.arange(len(y)), y] + 1e-12)
    present = np.unique(y)
    return {"mean_class_accuracy": float(np.mean([right[y == c].mean() for c in present])),
            "accuracy": float(right.mean()),
            "loss": float(np.mean([nll[y == c].mean() for c in present]))}


def choose(scores: dict[str, dict]) -> tuple[str, str]:
    """The head to keep among scored candidates, and why (one line).

    Args:
        scores: head name -> :func:`validation_scores` (an empty dict when the run has
            no validation recordings).
    """
    if not scores:
        return LINEAR, ("no validation recordings to compare heads on: kept the linear "
                        "head, the better one on real clips (docs/accuracy.md)")
    def key(name):
        s = scores[name]
        return (-round(s["mean_class_accuracy"], 6), round(s["loss"], 6), name != LINEAR)
    ranked = sorted(scores, key=key)
    best = ranked[0]
    parts = ", ".join(f"{n} {scores[n]['mean_class_accuracy']:.3f} (loss {scores[n]['loss']:.3f})"
                      for n in ranked)
    return best, f"validation mean class accuracy: {parts}"
