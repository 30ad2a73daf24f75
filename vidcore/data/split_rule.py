"""The generated-split rule: which recordings of each class are tested, validated, trained.

One rule, used wherever vidcore makes a split (folders, CSV without a split column,
workspace datasets), carves validation out of training, or tells a user how many more
recordings (takes) a class needs:

* a class of 1 recording is trained and reported untested (never refused);
* a class of 2 recordings gets 1 test recording and 1 training one;
* a class of 3 or more gets ``round(n * test_fraction)`` test recordings (at least 1,
  leaving at least 2 for training, so that validation can take 1 of them);
* validation takes ``round(m * val_fraction)`` of a class's ``m`` training recordings
  (at least 1 when ``m >= 2``, never the last one).

The rule works per class on recordings (groups; vidcore's groups are class-qualified,
so a recording belongs to one class) and is deterministic for a seed: a class's
recordings are sorted, then permuted by a generator seeded with the seed and the class
name, so adding a class leaves the others' split as it was. Split ``k`` rotates which
recordings are tested. Before this rule, scikit-learn's ``StratifiedGroupKFold`` could
put both recordings of a 2-recording class in training (issue 26: ``Skijet`` of
ucf101-dev), and training then refused the dataset.
"""

from __future__ import annotations

import zlib
from collections import defaultdict

import numpy as np

from vidcore.errors import InputError

TESTED = 2  # recordings a class needs for one to be tested
VALIDATED = 3  # ... for one to be tested and another to validate


def test_count(recordings: int, fraction: float) -> int:
    """How many of a class's recordings a generated split tests (0 for a single one)."""
    if recordings < TESTED:
        return 0
    if recordings < VALIDATED:
        return 1
    return min(max(1, round(recordings * fraction)), recordings - 2)


def validation_count(recordings: int, fraction: float) -> int:
    """How many of a class's training recordings validation takes (never the last one)."""
    if recordings < 2:
        return 0
    return min(max(1, round(recordings * fraction)), recordings - 1)


def takes_needed(recordings: int) -> dict:
    """More recordings (takes) a class needs: ``{"to_test": n, "to_validate": n}``."""
    return {"to_test": max(0, TESTED - recordings),
            "to_validate": max(0, VALIDATED - recordings)}


def folds(test_fraction: float) -> int:
    """Number of generated splits (``round(1 / test_fraction)``, at least 2)."""
    if not 0 < test_fraction < 1:
        raise InputError(f"test fraction must be between 0 and 1, got {test_fraction}")
    return max(2, round(1 / test_fraction))


def held_out(labels, groups, fraction: float, seed: int, fold: int = 0,
             count=test_count) -> np.ndarray:
    """Boolean mask of the items whose recording is held out (tested or validated).

    Args:
        labels: class (name or id) per item.
        groups: recording per item; a recording belongs to one class.
        fraction: held-out share per class, in (0, 1).
        seed: makes the split deterministic.
        fold: 0-based split number: rotates which recordings are held out.
        count: ``count(recordings, fraction)`` -> how many to hold out
            (:func:`test_count` or :func:`validation_count`).
    """
    if not 0 < fraction < 1:
        raise InputError(f"held-out fraction must be between 0 and 1, got {fraction}")
    by_class = defaultdict(set)
    for label, group in zip(labels, groups, strict=True):
        by_class[str(label)].add(group)
    out = set()
    for label, members in by_class.items():
        rng = np.random.default_rng([seed, zlib.crc32(label.encode())])
        order = list(rng.permutation(sorted(members)))
        n = count(len(order), fraction)
        if n:
            start = (fold * n) % len(order)
            out.update((order[start:] + order[:start])[:n])
    return np.array([g in out for g in groups], bool)
