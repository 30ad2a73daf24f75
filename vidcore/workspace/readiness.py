"""Is a dataset ready for an honest split? Per class clips and groups, and what to do.

``check_honest_split`` is the rule training enforces on every dataset (a class whose
clips all sit on one side of the split, or a group on both sides, cannot be trained
and tested honestly); ``readiness`` adds the advice a user building a dataset needs
(recordings per class, class imbalance), each finding with what to do about it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from vidcore.data.index import VideoIndex, load_index
from vidcore.data.video import is_video_file
from vidcore.errors import DatasetError, VidcoreError

GOOD_GROUPS = 3  # train, validation and test each get a recording of every class
IMBALANCE = 3.0  # largest class / smallest class above this is worth fixing


@dataclass(frozen=True)
class Finding:
    """One readiness finding.

    Attributes:
        level: ``blocking`` (training refuses), ``warning`` (works, but worse) or ``ok``.
        message: what is the case.
        action: what to do about it ('' for ok).
        class_name: the class it is about, if one.
    """

    level: str
    message: str
    action: str = ""
    class_name: str | None = None

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return dict(self.__dict__)


def _recordings(n: int) -> str:
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
                                f"{_recordings(groups)}; a split keeps a recording on one side)")
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


def _class_findings(name: str, clips: int, groups: int) -> list[Finding]:
    if clips == 0:
        return [Finding("blocking", f"{name} has no clips",
                        f"add clips to {name}, or delete the class", name)]
    if groups < 2:
        return [Finding("blocking",
                        f"{name} has {clips} clips from {_recordings(groups)}: a split keeps a "
                        "recording on one side, so it cannot be both trained and tested",
                        f"add clips from at least {GOOD_GROUPS - groups} more recordings", name)]
    if groups < GOOD_GROUPS:
        return [Finding("warning",
                        f"{name} has {clips} clips from {_recordings(groups)}: validation "
                        "will have none of it",
                        f"add clips from at least {GOOD_GROUPS - groups} more recording", name)]
    return []


def _balance_findings(clips: dict[str, int]) -> list[Finding]:
    filled = {c: n for c, n in clips.items() if n}
    if len(filled) < 2:
        return []
    big, small = max(filled, key=filled.get), min(filled, key=filled.get)
    if filled[big] <= IMBALANCE * filled[small]:
        return []
    return [Finding("warning", f"classes are imbalanced: {big} has {filled[big]} clips, "
                               f"{small} only {filled[small]}; the model will lean to {big}",
                    f"add clips to {small} (or remove some from {big})", small)]


def class_counts(root: Path) -> tuple[dict[str, int], dict[str, int], VideoIndex | None]:
    """Clips and groups per class folder (empty classes too), and the index when one loads."""
    folders = sorted(p.name for p in Path(root).iterdir()
                     if p.is_dir() and not p.name.startswith("."))
    clips = {c: sum(1 for f in (Path(root) / c).iterdir() if is_video_file(f)
                    and not f.name.startswith(".")) for c in folders}
    try:
        index = load_index(root, "folders")
    except VidcoreError:
        index = None
    groups = Counter()
    if index is not None:
        for group in {(r.class_name, r.group) for r in index.records}:
            groups[group[0]] += 1
    return clips, {c: groups.get(c, 0) for c in folders}, index


def readiness(root: str | Path) -> dict:
    """Everything the page and ``vidcore dataset ls`` say about a dataset's readiness.

    Returns:
        ``{"ready": bool, "classes": [{"class", "clips", "groups"}], "findings": [...]}``;
        ready means training will accept it (no blocking finding).
    """
    clips, groups, index = class_counts(Path(root))
    findings = []
    filled = len([c for c in clips if clips[c]])
    if filled < 2:
        findings.append(Finding("blocking", f"the dataset has {filled} "
                                f"{'class' if filled == 1 else 'classes'} with clips; "
                                "a classifier needs at least 2", "add another class with clips"))
    for name in clips:
        findings += _class_findings(name, clips[name], groups[name])
    findings += _balance_findings(clips)
    if index is not None and not any(f.level == "blocking" for f in findings):
        try:
            check_honest_split(index)
        except DatasetError as err:
            findings.append(Finding("blocking", str(err), "add clips from more recordings"))
    if not findings:
        findings.append(Finding("ok", f"{len(clips)} classes, every one with clips from "
                                      f"{GOOD_GROUPS} or more recordings: ready to train"))
    return {"ready": not any(f.level == "blocking" for f in findings),
            "classes": [{"class": c, "clips": clips[c], "groups": groups[c]} for c in clips],
            "findings": [f.to_dict() for f in findings]}
