"""The dataset map: every clip on a 2-D map, near-duplicates, and likely label issues.

Built from the clip-level features of the feature store (one unit vector per clip,
``embeddings``); the slow parts are cached beside those features (``cache``):

* ``clip_features(index, spec)``: the features, extracting missing ones first;
* ``clip_map(clips, seed)``: 2-D coordinates by UMAP (PCA for tiny sets);
* ``near_duplicates(clips, threshold)``: similar pairs, cross-split ones first;
* ``label_issues(clips, seed)``: out-of-fold probe probabilities ranked by cleanlab;
* ``inspect_dataset(index, spec)``: all of it at once (``vidcore inspect``), or
  ``inspect_clips(root, clips)`` for features already loaded.
"""

from vidcore.dataset_map.duplicates import DEFAULT_THRESHOLD, near_duplicates
from vidcore.dataset_map.embeddings import ClipFeatures, clip_features
from vidcore.dataset_map.inspection import DatasetInspection, inspect_clips, inspect_dataset
from vidcore.dataset_map.layout import ClipMap, clip_map
from vidcore.dataset_map.mislabels import LabelIssues, label_issues

__all__ = [
    "DEFAULT_THRESHOLD", "ClipFeatures", "ClipMap", "DatasetInspection", "LabelIssues",
    "clip_features", "clip_map", "inspect_clips", "inspect_dataset", "label_issues",
    "near_duplicates",
]
