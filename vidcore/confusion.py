"""The confusion view at any class count: which classes to show, the worst pairs, per-class rows.

Plain pandas in, plain pandas out (no Streamlit, no plotly): the Evaluate page and
``charts.confusion_heatmap`` build on these. A 101-class matrix (UCF101) or a 400-class
one (Kinetics-400) is too big to read whole, so the page focuses it on the classes
that matter: the most confused ones, a chosen subset, or one class and its confusers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vidcore.errors import InputError

FOCUS_MODES = ("all", "confused", "chosen", "class")
FOCUS_LABELS = {"all": "All classes", "confused": "Most confused",
                "chosen": "Chosen classes", "class": "One class"}
FULL_VIEW_MAX = 30  # up to this many classes the whole matrix is the default view
DEFAULT_CONFUSED = 20


def default_focus(classes: int) -> str:
    """``all`` for a small matrix, ``confused`` above ``FULL_VIEW_MAX`` classes."""
    return "all" if classes <= FULL_VIEW_MAX else "confused"


def mistakes_per_class(confusion: pd.DataFrame) -> pd.Series:
    """Mistakes a class is involved in: its clips taken for another class, plus other
    classes' clips taken for it (off-diagonal row sum + column sum), in label order."""
    values = confusion.to_numpy()
    off = values.sum(1) + values.sum(0) - 2 * values.diagonal()
    return pd.Series(off, index=list(confusion.index), name="mistakes")


def focus_classes(confusion: pd.DataFrame, mode: str = "all", count: int = DEFAULT_CONFUSED,
                  chosen=(), center: str | None = None) -> list[str]:
    """The classes (rows and columns) of the matrix to show, in label order.

    Args:
        confusion: ``tables.confusion_frame`` (true x predicted counts).
        mode: ``all``; ``confused`` (the classes of the worst pairs, worst first, until
            ``count`` classes: the biggest mistakes are always in view); ``chosen``
            (``chosen``, at least one); ``class`` (``center`` and every class it is
            confused with, either way).
        count: how many classes ``confused`` keeps.
        chosen: class names for ``chosen``.
        center: the class of ``class``.

    Raises:
        InputError: an unknown mode, an empty choice or an unknown class name.
    """
    classes = list(confusion.index)
    if mode == "all":
        return classes
    if mode == "confused":
        return _classes_of_worst_pairs(confusion, max(2, int(count)))
    if mode == "chosen":
        unknown = [c for c in chosen if c not in confusion.index]
        if unknown or not chosen:
            raise InputError(f"choose one or more classes of the report (unknown: "
                             f"{', '.join(map(str, unknown)) or 'none chosen'})")
        keep = set(chosen)
        return [c for c in classes if c in keep]
    if mode == "class":
        if center not in confusion.index:
            raise InputError(f"unknown class {center!r}; pick one of the report's classes")
        row, col = confusion.loc[center], confusion[center]
        keep = {center} | set(row[row > 0].index) | set(col[col > 0].index)
        return [c for c in classes if c in keep]
    raise InputError(f"unknown focus {mode!r}; valid: {', '.join(FOCUS_MODES)}")


def _classes_of_worst_pairs(confusion: pd.DataFrame, count: int) -> list[str]:
    keep: set[str] = set()
    for true, predicted in confused_pairs(confusion)[["true", "predicted"]].itertuples(
            index=False):
        if len(keep | {true, predicted}) > count:
            break
        keep |= {true, predicted}
    return [c for c in confusion.index if c in keep]


def confused_pairs(confusion: pd.DataFrame, top: int | None = None) -> pd.DataFrame:
    """The mistakes, worst first: ``true``, ``predicted``, ``clips`` and ``share``.

    ``share`` is the part of the true class's test clips taken for ``predicted``.
    Ties are broken by class names, so the order is stable.
    """
    values = confusion.to_numpy()
    off = values * (1 - np.eye(len(values), dtype=values.dtype))
    rows, cols = np.nonzero(off)
    frame = pd.DataFrame({"true": np.asarray(confusion.index)[rows],
                          "predicted": np.asarray(confusion.columns)[cols],
                          "clips": off[rows, cols].astype(int),
                          "share": off[rows, cols] / values.sum(1)[rows]})
    frame = frame.sort_values(["clips", "share", "true", "predicted"],
                              ascending=[False, False, True, True], ignore_index=True)
    return frame if top is None else frame.head(top)


def class_accuracy(confusion: pd.DataFrame) -> pd.DataFrame:
    """Per-class top-1 with the counts behind it, worst first.

    Returns:
        ``class``, ``right`` (clips of the class predicted right), ``clips`` (its test
        clips), ``accuracy`` (right / clips); classes without test clips are left out.
    """
    values = confusion.to_numpy()
    frame = pd.DataFrame({"class": list(confusion.index), "right": values.diagonal(),
                          "clips": values.sum(1)})
    frame = frame[frame["clips"] > 0].copy()
    frame["accuracy"] = frame["right"] / frame["clips"]
    return frame.sort_values(["accuracy", "class"], ignore_index=True)
