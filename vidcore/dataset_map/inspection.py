"""One call for the whole dataset map: features, map, near-duplicates, label issues.

``inspect_dataset`` is what ``vidcore inspect`` prints; the app's pages may call it or
the parts (``clip_features``, ``clip_map``, ``near_duplicates``, ``label_issues``)
one by one, each of which returns plain data and caches its slow work on disk.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vidcore.data.index import VideoIndex
from vidcore.dataset_map import cache
from vidcore.dataset_map.duplicates import DEFAULT_THRESHOLD, near_duplicates
from vidcore.dataset_map.embeddings import ClipFeatures, clip_features
from vidcore.dataset_map.layout import ClipMap, clip_map
from vidcore.dataset_map.mislabels import LabelIssues, label_issues
from vidcore.errors import InputError
from vidcore.features import FeatureSpec

log = logging.getLogger(__name__)

DUPLICATE_KEYS = ("a", "b", "similarity", "cross_split", "same_group")
ISSUE_KEYS = ("path", "given", "suggested", "score")


@dataclass(frozen=True)
class DatasetInspection:
    """Everything ``inspect_dataset`` found.

    Attributes:
        root: the dataset's folder (record paths are relative to it).
        clips: the clip features.
        map: the 2-D map.
        map_csv: the map's coordinates with class, group and split, as CSV.
        duplicates: ``near_duplicates``' table (all pairs), in order of concern.
        issues: ``label_issues``' result (all issues), most likely first.
        threshold: the similarity threshold of ``duplicates``.
    """

    root: Path
    clips: ClipFeatures
    map: ClipMap
    map_csv: Path | None
    duplicates: pd.DataFrame
    issues: LabelIssues
    threshold: float

    def to_dict(self, limit: int | None = None) -> dict:
        """Plain data for JSON; ``limit`` caps each list (None: everything)."""
        duplicates, issues = self.duplicates, self.issues.table
        if limit is not None:
            duplicates, issues = duplicates.head(limit), issues.head(limit)
        return {
            "dataset": str(self.root), "clips": len(self.clips),
            "unreadable": list(self.clips.unreadable),
            "threshold": self.threshold,
            "duplicates": _records(duplicates, DUPLICATE_KEYS),
            "duplicates_total": len(self.duplicates),
            "cross_split_total": int(self.duplicates["cross_split"].sum()),
            "label_issues": _records(issues, ISSUE_KEYS),
            "label_issues_total": len(self.issues.table),
            "unjudged": list(self.issues.unjudged),
            "map": {"file": str(self.map_csv) if self.map_csv else None,
                    "cache": str(self.map.file) if self.map.file else None,
                    "method": self.map.method, "seed": self.map.seed,
                    "clips": len(self.map.table)},
        }


def inspect_dataset(
    index: VideoIndex,
    spec: FeatureSpec,
    store_dir: str | os.PathLike | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
    progress: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DatasetInspection:
    """Map a dataset's clips and find near-duplicates and likely label issues.

    Args:
        index: the dataset under its chosen split (``cross_split`` refers to it).
        spec: the feature set.
        store_dir: the feature store root (default ``default_store_dir()``).
        threshold: cosine similarity from which two clips are near-duplicates.
        seed: seed of the map's layout and of the cross-validation folds.
        progress: feature extraction progress callback.
        should_stop: polled between videos during extraction.

    Returns:
        A ``DatasetInspection``.

    Raises:
        InputError: a threshold outside (0, 1], or a dataset without readable clips.
    """
    check_threshold(threshold)
    clips = clip_features(index, spec, store_dir, progress, should_stop)
    return inspect_clips(index.root, clips, threshold, seed)


def inspect_clips(root: str | os.PathLike, clips: ClipFeatures,
                  threshold: float = DEFAULT_THRESHOLD, seed: int = 0) -> DatasetInspection:
    """``inspect_dataset`` for clip features already loaded (``clip_features``).

    Args:
        root: the dataset's folder (for the report).
        clips: the clip features.
        threshold: cosine similarity from which two clips are near-duplicates.
        seed: seed of the map's layout and of the cross-validation folds.
    """
    check_threshold(threshold)
    log.info("laying out the map of %d clips", len(clips))
    clip_layout = clip_map(clips, seed)
    log.info("searching near-duplicates")
    duplicates = near_duplicates(clips, threshold)
    log.info("cross-validating the label probe")
    issues = label_issues(clips, seed)
    csv = cache.write_text(clips.cache_dir, f"map-seed{seed}.csv",
                           clip_layout.table.to_csv(index=False))
    return DatasetInspection(Path(root), clips, clip_layout, csv, duplicates, issues, threshold)


def check_threshold(threshold: float) -> None:
    """Raise ``InputError`` unless ``threshold`` is a similarity in (0, 1]."""
    if not 0 < threshold <= 1:
        raise InputError(f"similarity threshold {threshold} is outside (0, 1]; "
                         f"try the default {DEFAULT_THRESHOLD}")


def _records(table: pd.DataFrame, keys) -> list[dict]:
    """Rows as dicts of plain Python values, ``keys`` only."""
    return [{k: _plain(row[k]) for k in keys} for row in table.to_dict("records")]


def _plain(value):
    return value.item() if hasattr(value, "item") else value
