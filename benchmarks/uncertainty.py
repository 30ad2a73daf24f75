"""Bootstrap intervals at UCF101 size: seconds per interval, and what more resamples change.

A synthetic split-1-sized test set (3,783 clips, 101 classes, 7 recordings a class:
707 groups, 80% right), one interval of each metric at ``RESAMPLES`` and at
scipy's default 9,999. Ratios within one run are what to read (the machine is shared).

    .venv/bin/python benchmarks/uncertainty.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vidcore.uncertainty import RESAMPLES, group_counts, interval  # noqa: E402

CLIPS, CLASSES, GROUPS_PER_CLASS = 3783, 101, 7


def synthetic_test_set(seed: int = 0):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, CLASSES, CLIPS)
    groups = [f"{c}/g{g}" for c, g in zip(true, rng.integers(0, GROUPS_PER_CLASS, CLIPS),
                                          strict=True)]
    return group_counts(groups, true, rng.random(CLIPS) < 0.8, CLASSES)


def main() -> None:
    import scipy.stats  # noqa: F401  (its import, seconds on a loaded machine, is not timed)

    counts = synthetic_test_set()
    print(f"{CLIPS} clips, {len(counts.groups)} recordings, {CLASSES} classes; load "
          f"{Path('/proc/loadavg').read_text().split()[0]}")
    print("| metric | resamples | seconds | interval |\n|---|---|---|---|")
    for metric in ("top1", "mean_class_accuracy"):
        for resamples in (RESAMPLES, 9999):
            start = time.perf_counter()
            low, high = interval(counts, metric, resamples=resamples)
            print(f"| {metric} | {resamples} | {time.perf_counter() - start:.2f} | "
                  f"{low:.4f}-{high:.4f} |")


if __name__ == "__main__":
    main()
