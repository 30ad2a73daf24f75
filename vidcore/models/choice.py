"""Which head a run keeps when its preset lets the data decide (``choose_head``).

The default preset trains both the temporal convolution head and the linear head on
the same training recordings and compares their **mean class accuracy on the
validation recordings**. The temporal head is kept only when it leads by more than
``MARGIN``, else the linear head: the temporal checkpoint was itself picked on those
validation recordings (its lowest validation loss), so its validation score is
optimistic, and the linear one is not. On ucf101-dev, picking the plain better of the
two kept the temporal head on folds where it then tested far worse than the linear
head (fold 1 of 5: top-1 0.593 / mean class 0.499 against 0.778 / 0.570). Why both: on
the generated demo, whose stick
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
# How far the temporal head must lead on validation mean class accuracy to be kept.
# The demo's gap is 0.27-0.29 (top-1 on its test clips: 0.984-0.987 against 0.695-0.714,
# docs/training.md, docs/presets.json). On ucf101-dev the temporal head led by 0.125 on
# 2 of 5 few-shot folds (one validation clip of 8 classes) and then tested far worse
# (top-1 0.426 and 0.593 against the linear head's 0.815 and 0.759): a lead of one
# class's worth of validation is noise, so only more than 0.2 counts.
MARGIN = 0.2


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

    The best validation mean class accuracy wins (ties: the linear head), except that a
    neural head must lead the linear one by more than ``MARGIN``.

    Args:
        scores: head name -> :func:`validation_scores` (an empty dict when the run has
            no validation recordings).
    """
    if not scores:
        return LINEAR, ("no validation recordings to compare heads on: kept the linear "
                        "head, the better one on real clips (docs/accuracy.md)")
    ranked = sorted(scores, key=lambda n: (-scores[n]["mean_class_accuracy"], n != LINEAR))
    parts = ", ".join(f"{n} {scores[n]['mean_class_accuracy']:.3f} (loss {scores[n]['loss']:.3f})"
                      for n in ranked)
    best = ranked[0]
    if LINEAR in scores and best != LINEAR:
        lead = scores[best]["mean_class_accuracy"] - scores[LINEAR]["mean_class_accuracy"]
        if lead <= MARGIN:
            return LINEAR, (f"validation mean class accuracy: {parts}; {best} leads by "
                            f"{lead:.3f}, not more than {MARGIN}: kept the linear head")
    return best, f"validation mean class accuracy: {parts}"
