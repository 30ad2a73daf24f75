"""Each clip's nearest neighbours by cosine similarity: exact for small sets, HNSW for large.

Rows are unit vectors, so cosine similarity is a dot product. Up to ``EXACT_UP_TO``
clips the search is exact: blocked matrix products (BLAS), a block of rows at a time,
so memory stays at ``BLOCK x n`` floats. Beyond, a usearch HNSW index (inner-product
metric, 8-bit quantised vectors) finds the candidates approximately, in time that
grows as n log n rather than n squared; their similarities are then computed exactly.
"""

from __future__ import annotations

import numpy as np

from vidcore.dataset_map import cache
from vidcore.dataset_map.embeddings import ClipFeatures

NEIGHBOURS = 16  # per clip: UCF101's recordings hold 4-7 clips, the map uses 15
# CPU seconds for 16 neighbours of 1280-D clips (benchmarks/dataset_map.py; 2-core AMD
# EPYC, AVX2+FMA, load 16-39): exact 4.4 / 21.5 / 79.3 and HNSW 9.4 / 20.2 / 29.0 at
# 6,660 / 13,320 / 26,640 clips, HNSW finding every pair the exact search found above
# 0.92. They cross near UCF101's 13,320, which stays exact (and deterministic).
EXACT_UP_TO = 15_000
BLOCK = 1024  # rows per matrix product: 1024 x 13,320 float32 is 55 MB
HNSW_CONNECTIVITY = 16
HNSW_EXPANSION_ADD = 128
HNSW_EXPANSION_SEARCH = 64


def neighbour_graph(clips: ClipFeatures,
                    k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """``nearest_neighbours`` of a dataset's clips, cached beside its map (the graph
    depends only on the features): both near-duplicates and the map's layout use it."""
    name = f"neighbours-k{k}"
    shape = (len(clips), max(0, min(k, len(clips) - 1)))
    cached = cache.load(clips.cache_dir, name)
    if cached and all(cached.get(key, np.empty(0)).shape == shape
                      for key in ("indices", "similarities")):
        return cached["indices"], cached["similarities"]
    indices, sims = nearest_neighbours(clips.matrix, k)
    cache.save(clips.cache_dir, name, {"indices": indices, "similarities": sims})
    return indices, sims


def nearest_neighbours(matrix: np.ndarray, k: int,
                       exact: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar other rows of every row.

    Args:
        matrix: ``(n, D)`` unit rows.
        k: neighbours per row (fewer columns when ``n - 1 < k``).
        exact: force the exact (True) or approximate (False) search; None picks by size.

    Returns:
        ``(indices, similarities)``, both ``(n, min(k, n - 1))``, each row sorted from
        the most similar; a row's own index is never among its neighbours (an
        approximate search may leave a slot it could not fill as index -1).
    """
    matrix = np.ascontiguousarray(matrix, np.float32)
    k = min(k, len(matrix) - 1)
    if k <= 0:
        return np.zeros((len(matrix), 0), np.int64), np.zeros((len(matrix), 0), np.float32)
    if exact is None:
        exact = len(matrix) <= EXACT_UP_TO
    return _exact(matrix, k) if exact else _hnsw(matrix, k)


def _exact(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = len(matrix)
    indices = np.empty((n, k), np.int64)
    sims = np.empty((n, k), np.float32)
    for lo in range(0, n, BLOCK):
        block = matrix[lo:lo + BLOCK] @ matrix.T
        rows = np.arange(len(block))
        block[rows, rows + lo] = -np.inf  # never one's own neighbour
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(block, top, axis=1)
        order = np.argsort(-top_sims, axis=1, kind="stable")
        indices[lo:lo + BLOCK] = np.take_along_axis(top, order, axis=1)
        sims[lo:lo + BLOCK] = np.take_along_axis(top_sims, order, axis=1)
    return indices, sims


def _hnsw(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    from usearch.index import Index

    index = Index(ndim=matrix.shape[1], metric="ip", dtype="i8",
                  connectivity=HNSW_CONNECTIVITY, expansion_add=HNSW_EXPANSION_ADD,
                  expansion_search=HNSW_EXPANSION_SEARCH)
    # One thread: insertion order decides the graph, so the same clips give the same
    # neighbours (and map) every time; the search itself runs on every core.
    index.add(np.arange(len(matrix)), matrix, threads=1)
    # One more than asked: each row usually finds itself first, and is dropped.
    found = index.search(matrix, k + 1, threads=0)
    keys = np.asarray(found.keys, np.int64)
    return _drop_self(keys, _exact_similarities(matrix, keys), k)


def _exact_similarities(matrix: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Full-precision similarity of each row to each of its candidate ``keys`` (the
    index compares 8-bit vectors: right enough to find neighbours, not to report how
    similar they are), each row sorted again from the most similar."""
    sims = np.full(keys.shape, -np.inf, np.float32)
    valid = (keys >= 0) & (keys < len(matrix))
    for col in range(keys.shape[1]):
        rows = np.flatnonzero(valid[:, col])
        sims[rows, col] = np.einsum("ij,ij->i", matrix[rows], matrix[keys[rows, col]])
    order = np.argsort(-sims, axis=1, kind="stable")
    keys[:] = np.take_along_axis(keys, order, axis=1)
    return np.take_along_axis(sims, order, axis=1)


def _drop_self(keys: np.ndarray, sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove each row's own index (and unfilled slots) and keep ``k`` columns."""
    n = len(keys)
    valid = (keys != np.arange(n)[:, None]) & (keys >= 0) & (keys < n)
    indices = np.full((n, k), -1, np.int64)
    out_sims = np.full((n, k), -np.inf, np.float32)
    for i in range(n):
        row = keys[i][valid[i]][:k]
        indices[i, :len(row)] = row
        out_sims[i, :len(row)] = sims[i][valid[i]][:k]
    return indices, out_sims


def similar_pairs(indices: np.ndarray, sims: np.ndarray,
                  threshold: float) -> list[tuple[int, int, float]]:
    """Unordered pairs ``(i, j, similarity)`` with ``i < j`` found in a neighbour graph
    at or above ``threshold``, each pair once."""
    rows, cols = np.nonzero((sims >= threshold) & (indices >= 0))
    pairs = {}
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        j = int(indices[r, c])
        key = (min(r, j), max(r, j))
        pairs[key] = max(pairs.get(key, -1.0), float(sims[r, c]))
    return [(i, j, s) for (i, j), s in pairs.items()]
