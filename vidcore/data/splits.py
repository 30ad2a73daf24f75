"""Is a split honest, and which classes does it leave untested or untrained?

A group (a recording: UCF101's ``gXX``) on both sides of the split would inflate test
accuracy: that is dishonest, and training refuses it before a run directory exists
(``check_split_of``). A class with no clips on one side is not dishonest: official
lists of a partial download (UCF101's Knitting, all of whose clips are in training
groups) and generated splits of 1-recording classes (``vidcore.data.split_rule``)
are trained as they are, and :func:`split_notes` says what is not measured ("Knitting:
no test clips, its accuracy is not measured"). ``vidcore train``/``info``, the run's
status and report, and the workspace's readiness advice all print these notes.
"""

from __future__ import annotations

from vidcore.data.index import VideoIndex, load_index
from vidcore.data.split_rule import TESTED, VALIDATED
from vidcore.errors import DatasetError, VidcoreError

GOOD_GROUPS = VALIDATED  # train, validation and test each get a recording of every class


def recordings(n: int) -> str:
    """``1 recording``, ``3 recordings``."""
    return f"{n} recording" + ("" if n == 1 else "s")


def split_problems(index: VideoIndex) -> list[str]:
    """Why the index's split is not honest (empty when it is): recordings on both sides."""
    leaking = index.leaking_groups()
    if not leaking:
        return []
    return [f"{len(leaking)} groups have clips on both sides of the split "
            f"(e.g. {', '.join(leaking[:3])}), so test accuracy would be inflated"]


def untested_classes(index: VideoIndex) -> list[str]:
    """Classes with training clips but no test clips (their accuracy is not measured)."""
    counts = index.counts()
    return [c for c in index.classes if counts[c]["test"] == 0 and counts[c]["train"]]


def untrained_classes(index: VideoIndex) -> list[str]:
    """Classes with no training clips (the model cannot learn them)."""
    counts = index.counts()
    return [c for c in index.classes if counts[c]["train"] == 0]


def split_notes(index: VideoIndex) -> list[str]:
    """One line per class the split leaves untested or untrained, and what to do.

    Returns:
        e.g. ``["Knitting: no test clips, its accuracy is not measured (its clips come
        from 1 recording; a class needs 2 to be tested)"]``; empty when every class is
        on both sides.
    """
    generated = index.splits_source == "generated"
    notes = []
    for name in untested_classes(index):
        n = recordings(_groups(index, name))
        why = (f"its clips come from {n}; a class needs {TESTED} to be tested" if generated
               else f"the split lists test none of its {n}")
        notes.append(f"{name}: no test clips, its accuracy is not measured ({why})")
    for name in untrained_classes(index):
        notes.append(f"{name}: no training clips, the model cannot predict it "
                     "(its test clips count as errors)")
    return notes


def _groups(index: VideoIndex, name: str) -> int:
    return len({r.group for r in index.records if r.class_name == name})


def check_honest_split(index: VideoIndex) -> None:
    """Refuse a dataset whose split is dishonest, and one without 2 trainable classes.

    Raises:
        DatasetError: names every problem and what to do.
    """
    problems = split_problems(index)
    if problems:
        raise DatasetError("this dataset cannot be split honestly: " + "; ".join(problems)
                           + ". Fix the split lists so that each recording is on one side")
    trained = [c for c in index.classes if c not in untrained_classes(index)]
    if len(trained) < 2:
        raise DatasetError(f"the split trains {len(trained)} class"
                           f"{'' if len(trained) == 1 else 'es'}; a classifier needs at "
                           "least 2 with training clips: add clips of another class")


def check_split_of(config) -> list[str]:
    """``check_honest_split`` on the dataset a ``TrainConfig`` names, before a run starts.

    Called by ``train`` and the Train page's launcher, so a refusal leaves no failed run
    behind. A dataset that does not load at all is left to training, whose run then
    records the reason (as for any other failure of a started run).

    Returns:
        :func:`split_notes` of the dataset (empty when it does not load).

    Raises:
        DatasetError: the dataset loads but its split is not honest (says why).
    """
    try:
        index = load_index(config.dataset, config.format, config.split, config.splits,
                           config.test_fraction, config.split_seed)
    except VidcoreError:
        return []
    check_honest_split(index)
    return split_notes(index)
