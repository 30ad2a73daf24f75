"""Is a dataset ready to train, and what would make it better? Per class, what to do.

Training refuses only a dishonest split (a recording on both sides) or fewer than 2
classes (``vidcore.data.splits``). Everything else trains: the generated split
(``vidcore.data.split_rule``) tests a class from its second recording on and
validates it from its third, so a class of 1 recording (one take on the Live page) is
trained and reported untested. ``readiness`` says so per class, with how many more
takes (recordings) would make it tested and validated, and warns of class imbalance.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from vidcore.data.index import VideoIndex, load_index
from vidcore.data.split_rule import takes_needed
from vidcore.data.splits import GOOD_GROUPS, check_honest_split, recordings
from vidcore.data.video import is_video_file
from vidcore.errors import DatasetError, VidcoreError
from vidcore.words import count

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


def _class_findings(name: str, clips: int, groups: int) -> list[Finding]:
    if clips == 0:
        return [Finding("blocking", f"{name} has no clips",
                        f"add clips to {name}, or delete the class", name)]
    needed = takes_needed(groups)
    if needed["to_test"]:
        return [Finding("warning",
                        f"{name} has {count(clips, 'clip')} from {recordings(groups)}: it is "
                        "trained but not tested (a split keeps a recording on one side), so its "
                        "accuracy is not measured",
                        f"add {recordings(needed['to_test'])} more (another take) to test "
                        f"it, {needed['to_validate']} to validate it too", name)]
    if needed["to_validate"]:
        return [Finding("warning",
                        f"{name} has {count(clips, 'clip')} from {recordings(groups)}: it is "
                        "tested, but validation will have none of it",
                        f"add {recordings(needed['to_validate'])} more to validate it", name)]
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


def _class_row(name: str, clips: int, groups: int) -> dict:
    needed = takes_needed(groups)
    return {"class": name, "clips": clips, "groups": groups, "tested": not needed["to_test"],
            "takes_to_test": needed["to_test"], "takes_to_validate": needed["to_validate"]}


def readiness(root: str | Path) -> dict:
    """Everything the page and ``vidcore dataset ls`` say about a dataset's readiness.

    Returns:
        ``{"ready": bool, "classes": [{"class", "clips", "groups", "tested",
        "takes_to_test", "takes_to_validate"}], "findings": [...]}``; ready means
        training will accept it (no blocking finding); ``tested`` whether the generated
        split tests the class, ``takes_to_*`` how many more recordings it needs for that.
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
            "classes": [_class_row(c, clips[c], groups[c]) for c in clips],
            "findings": [f.to_dict() for f in findings]}
