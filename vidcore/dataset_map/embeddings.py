"""Clip-level features: one unit vector per clip, from the feature store.

A clip's feature is the mean of its sampled frames' features, L2-normalised, so the
dot product of two clips is their cosine similarity. Clips whose features are not
stored yet are extracted first (``vidcore.features.load_features``, with its progress
callback); clips that cannot be read are left out and listed in ``unreadable``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidcore.data.index import VideoIndex, VideoRecord
from vidcore.errors import InputError
from vidcore.features import FeatureSpec, default_store_dir, load_features, video_key

MAPS_FOLDER = "maps"  # inside a feature set's folder: <store>/<feature set>/maps/<version>/


@dataclass(frozen=True)
class ClipFeatures:
    """The clip-level features of one dataset under one feature set.

    Attributes:
        records: the clips that have features, in index order.
        matrix: ``(len(records), D)`` float32, one unit-length row per clip.
        classes: class names in label order (the index's).
        unreadable: record paths without features (the video could not be read).
        version: content hash of the feature set and the clip files (paths, sizes,
            modification times): what the map and the neighbours depend on.
        cache_dir: where results computed from these features are cached, or None.
    """

    records: tuple[VideoRecord, ...]
    matrix: np.ndarray
    classes: tuple[str, ...]
    unreadable: tuple[str, ...] = ()
    version: str = ""
    cache_dir: Path | None = None

    def __len__(self) -> int:
        return len(self.records)

    @property
    def paths(self) -> list[str]:
        """Record paths (relative to the index root), in row order."""
        return [r.path for r in self.records]

    @property
    def labels(self) -> np.ndarray:
        """Class id of each row."""
        return np.array([r.label for r in self.records], dtype=np.int64)

    def labels_version(self) -> str:
        """``version`` plus every clip's class, group and split (what label issues
        also depend on)."""
        text = "\n".join(f"{r.class_name}|{r.group}|{r.split}" for r in self.records)
        return _digest(self.version, text)


def clip_matrix(frame_features: Sequence[np.ndarray]) -> np.ndarray:
    """Mean of each clip's frame features, L2-normalised: ``(clips, D)`` float32."""
    if not len(frame_features):
        return np.zeros((0, 0), np.float32)
    means = np.stack([np.asarray(f, np.float32).mean(axis=0) for f in frame_features])
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    # An all-zero clip (a black video through a ReLU backbone) stays zero, not NaN.
    return means / np.where(norms > 0, norms, 1.0)


def clip_features(
    index: VideoIndex,
    spec: FeatureSpec,
    store_dir: str | os.PathLike | None = None,
    progress: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ClipFeatures:
    """Clip-level features of every clip of ``index``, extracting missing ones first.

    Args:
        index: the dataset (every record is used, whatever its split).
        spec: the feature set (backbone, weights, sampler).
        store_dir: the feature store root (default ``default_store_dir()``).
        progress: extraction progress callback (``vidcore.features.extract``'s dicts).
        should_stop: polled between videos during extraction.

    Returns:
        A ``ClipFeatures``; clips that could not be read are listed in ``unreadable``.

    Raises:
        InputError: the dataset has no clip with features.
    """
    paths = [index.path_of(r) for r in index.records]
    feats, _ = load_features(paths, spec, store_dir, progress=progress, should_stop=should_stop)
    kept = [(r, f) for r, f in zip(index.records, feats, strict=True) if f is not None]
    if not kept:
        raise InputError(f"no clip of {index.root} has features (none could be read); "
                         "check the videos with 'vidcore extract'")
    records = tuple(r for r, _ in kept)
    folder = Path(store_dir) if store_dir else default_store_dir()
    version = dataset_version(spec, [index.path_of(r) for r in records])
    return ClipFeatures(
        records, clip_matrix([f.features for _, f in kept]), tuple(index.classes),
        tuple(r.path for r, f in zip(index.records, feats, strict=True) if f is None),
        version, folder / spec.folder_name() / MAPS_FOLDER / version[:16])


def dataset_version(spec: FeatureSpec, paths: Sequence[str | os.PathLike]) -> str:
    """Content hash of a feature set and a list of clip files (in order).

    Each file enters by the feature store's own identity (absolute path, size,
    modification time), so an edited, moved or re-added clip changes the version.
    """
    return _digest(spec.folder_name(), "\n".join(video_key(p) for p in paths))


def _digest(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()
