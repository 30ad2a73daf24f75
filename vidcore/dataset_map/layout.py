"""The map: 2-D coordinates of every clip, by UMAP (PCA for tiny sets), cached on disk.

UMAP runs on the clips' cosine neighbour graph (``neighbours.neighbour_graph``, which
near-duplicates use too) instead of its own nearest-neighbour descent: one search for
both, and on 3,000 generated 1280-D clips UMAP took 21 s of CPU time so against 55 s
fitting on features reduced to 50 PCA dimensions (its own neighbour search). With a
seed UMAP runs single-threaded and is reproducible; the result is cached per feature
set, dataset version and seed, so a second call reads it back.
"""

from __future__ import annotations

import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from vidcore.dataset_map import cache
from vidcore.dataset_map.embeddings import ClipFeatures
from vidcore.dataset_map.neighbours import neighbour_graph

PCA_BELOW = 20  # clips; fewer are laid out by PCA (see _pca)
UMAP_NEIGHBOURS = 15  # UMAP's default
COLUMNS = ("path", "x", "y", "class", "label", "group", "split")


@dataclass(frozen=True)
class ClipMap:
    """2-D map of a dataset's clips.

    Attributes:
        table: one row per clip: ``COLUMNS`` (record path, coordinates, class name and
            id, group, split), in the order of ``ClipFeatures.records``.
        method: ``"umap"`` or ``"pca"``.
        seed: the layout's seed.
        cached: whether it was read from the cache rather than computed.
        file: the cache file holding the coordinates (None without a cache).
    """

    table: pd.DataFrame
    method: str
    seed: int
    cached: bool
    file: Path | None = None


def clip_map(clips: ClipFeatures, seed: int = 0) -> ClipMap:
    """The 2-D map of ``clips``: read from the cache, else computed and cached.

    Args:
        clips: the dataset's clip features.
        seed: layout seed; one seed gives the same map every time.

    Returns:
        A ``ClipMap``.
    """
    name = f"layout-seed{seed}"
    stored = cache.load(clips.cache_dir, name)
    cached = bool(stored) and stored.get("xy", np.empty(0)).shape == (len(clips), 2)
    if cached:
        xy, method = stored["xy"], str(stored["method"])
    else:
        xy, method = layout(clips, seed)
        cache.save(clips.cache_dir, name, {"xy": xy, "method": np.array(method)})
    file = clips.cache_dir / f"{name}.npz" if clips.cache_dir else None
    return ClipMap(_table(clips, xy), method, seed, cached, file)


def layout(clips: ClipFeatures, seed: int = 0) -> tuple[np.ndarray, str]:
    """Compute 2-D coordinates ``(n, 2)`` float32 and the method's name (no cache)."""
    if len(clips) < PCA_BELOW:
        return _pca(clips.matrix, seed), "pca"
    return _umap(clips, seed), "umap"


def _pca(matrix: np.ndarray, seed: int) -> np.ndarray:
    """PCA's first two components (zeros where there are fewer than two clips or
    directions).

    Why ``PCA_BELOW = 20``: trustworthiness (5 neighbours, cosine; 1 is perfect) of the
    two on random subsets of ucf101-dev's clips, mean of 3: 12 clips PCA 0.85, UMAP
    0.83; 20 clips 0.83 both; 30 clips 0.78, 0.84; 50 clips 0.82, 0.92; all 223
    clips 0.82, 0.98. Below 20 a 15-neighbour graph spans most of the set.
    """
    from sklearn.decomposition import PCA

    xy = np.zeros((len(matrix), 2), np.float32)
    dims = min(2, len(matrix) - 1, matrix.shape[1] if matrix.ndim == 2 else 0)
    if dims > 0:
        xy[:, :dims] = PCA(dims, random_state=seed).fit_transform(matrix)
    return xy


def _umap(clips: ClipFeatures, seed: int) -> np.ndarray:
    indices, sims = neighbour_graph(clips)
    k = min(UMAP_NEIGHBOURS, indices.shape[1] + 1)
    # UMAP's graph lists each point as its own first neighbour, at distance 0.
    own = np.arange(len(clips))[:, None]
    knn = np.hstack([own, indices[:, :k - 1]])
    dists = np.hstack([np.zeros_like(own, np.float32), np.clip(1 - sims[:, :k - 1], 0, 2)])
    dists[knn < 0] = np.inf
    model = import_umap().UMAP(n_neighbors=k, metric="cosine", random_state=seed,
                               precomputed_knn=(knn, dists), n_jobs=1)
    return model.fit_transform(clips.matrix).astype(np.float32)


def import_umap():
    """The ``umap`` module, imported without TensorFlow where that is safe.

    umap's package imports TensorFlow for ParametricUMAP, which the map does not use:
    that alone took the import from 363 MB to 843 MB peak memory (measured here). In a
    single-threaded process where TensorFlow is not loaded yet, the import is made
    with TensorFlow hidden; elsewhere (the app's threads) it is left alone, since
    another thread could be importing TensorFlow at that moment.
    """
    if "umap" not in sys.modules and "tensorflow" not in sys.modules \
            and threading.active_count() == 1:
        sys.modules["tensorflow"] = None  # makes "import tensorflow" fail at once
        try:
            import umap
        finally:
            del sys.modules["tensorflow"]
    import umap

    # Its advice (n_jobs with a seed, graph not connected) is not for vidcore's users.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"umap(\.|$)")
    return umap


def _table(clips: ClipFeatures, xy: np.ndarray) -> pd.DataFrame:
    records = clips.records
    return pd.DataFrame({
        "path": [r.path for r in records], "x": xy[:, 0], "y": xy[:, 1],
        "class": [r.class_name for r in records], "label": [r.label for r in records],
        "group": [r.group for r in records], "split": [r.split for r in records]},
        columns=list(COLUMNS))
