"""The split rule: a dataset is trained and tested only when its split is honest.

A group (a recording: UCF101's ``gXX``) on both sides of the split would inflate test
accuracy, and a class with no clips on one side cannot be trained or tested; training
refuses both before a run directory exists (``check_split_of``), naming every problem
and what to do. The workspace's readiness advice builds on the same rule.
"""

from __future__ import annotations

from vidcore.data.index import VideoIndex, load_index
from vidcore.errors import DatasetError, VidcoreError

GOOD_GROUPS = 3  # train, validation and test each get a recording of every class


def recordings(n: int) -> str:
    """``1 recording``, ``3 recordings``."""
    return f"{n} recording" + ("" if n == 1 else "s")


def split_problems(index: VideoIndex) -> list[str]:
    """Why the index's split is not honest (empty when it is)."""
    problems = []
    leaking = index.leaking_groups()
    if leaking:
        problems.append(f"{len(leaking)} groups have clips on both sides of the split "
                        f"(e.g. {', '.join(leaking[:3])}), so test accuracy would be inflated")
    counts = index.counts()
    for name in index.classes:
        for side in ("train", "test"):
            if counts[name][side] == 0:
                groups = len({r.group for r in index.records if r.class_name == name})
                problems.append(f"class {name} has no {side} clips (its clips come from "
                                f"{recordings(groups)}; a split keeps a recording on one side)")
    return problems


def check_honest_split(index: VideoIndex) -> None:
    """Refuse a dataset that cannot be split honestly.

    Raises:
        DatasetError: names every problem and what to do.
    """
    problems = split_problems(index)
    if problems:
        raise DatasetError("this dataset cannot be split honestly: " + "; ".join(problems)
                           + ". Add clips from more recordings (at least 2 per class, "
                           f"{GOOD_GROUPS} to validate too) or fix the split lists")


def check_split_of(config) -> None:
    """``check_honest_split`` on the dataset a ``TrainConfig`` names, before a run starts.

    Called by ``train`` and the Train page's launcher, so a refusal leaves no failed run
    behind. A dataset that does not load at all is left to training, whose run then
    records the reason (as for any other failure of a started run).

    Raises:
        DatasetError: the dataset loads but its split is not honest (says why).
    """
    try:
        index = load_index(config.dataset, config.format, config.split, config.splits,
                           config.test_fraction, config.split_seed)
    except VidcoreError:
        return
    check_honest_split(index)
