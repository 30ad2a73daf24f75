"""The dataset map on arrays: neighbours, near-duplicate order, layout and its cache,
label issues of tiny classes (no video, no backbone: fast)."""

from __future__ import annotations

import numpy as np
import pytest

from vidcore.data.index import VideoRecord
from vidcore.dataset_map import cache, layout, near_duplicates
from vidcore.dataset_map.embeddings import ClipFeatures, clip_matrix, dataset_version
from vidcore.dataset_map.mislabels import label_issues
from vidcore.dataset_map.neighbours import nearest_neighbours, similar_pairs
from vidcore.features import TEMP_PREFIX, FeatureSpec


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered(n_clusters: int, per: int, dim: int = 32, spread: float = 0.3, seed: int = 0):
    """Unit vectors around ``n_clusters`` random centres; cluster id of each."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (n_clusters, dim))
    ids = np.repeat(np.arange(n_clusters), per)
    return unit(centres[ids] + rng.normal(0, spread, (len(ids), dim))), ids


def make_clips(matrix, classes, groups, splits, cache_dir=None, names=None) -> ClipFeatures:
    names = names or sorted(set(classes))
    records = tuple(VideoRecord(f"{c}/clip{i:03d}.avi", names.index(c), c, g, s)
                    for i, (c, g, s) in enumerate(zip(classes, groups, splits, strict=True)))
    return ClipFeatures(records, np.asarray(matrix, np.float32), tuple(names),
                        version="test", cache_dir=cache_dir)


def test_exact_neighbours_match_a_full_sort():
    matrix, _ = clustered(5, 30, seed=1)
    indices, sims = nearest_neighbours(matrix, 7, exact=True)
    full = matrix @ matrix.T
    np.fill_diagonal(full, -np.inf)
    expected = np.argsort(-full, axis=1)[:, :7]
    assert indices.shape == (150, 7)
    assert (indices != np.arange(150)[:, None]).all()
    np.testing.assert_allclose(sims, np.take_along_axis(full, expected, 1), atol=1e-6)
    assert (np.diff(sims, axis=1) <= 1e-7).all()  # most similar first


def test_hnsw_finds_the_pairs_the_exact_search_finds():
    matrix, _ = clustered(40, 25, dim=64, spread=0.5, seed=2)
    rng = np.random.default_rng(3)
    sources = rng.choice(len(matrix), 20, replace=False)
    copies = unit(matrix[sources] + rng.normal(0, 0.01, (20, 64)))
    matrix = np.vstack([matrix, copies])
    exact = similar_pairs(*nearest_neighbours(matrix, 16, exact=True), 0.95)
    approx = similar_pairs(*nearest_neighbours(matrix, 16, exact=False), 0.95)
    planted = {(int(s), 1000 + i) for i, s in enumerate(sources)}
    assert planted <= {(i, j) for i, j, _ in exact}
    assert {(i, j) for i, j, _ in approx} == {(i, j) for i, j, _ in exact}


def test_neighbours_of_tiny_sets():
    indices, sims = nearest_neighbours(unit(np.eye(3)), 16)
    assert indices.shape == sims.shape == (3, 2)
    assert nearest_neighbours(unit(np.ones((1, 4))), 16)[0].shape == (1, 0)


def test_near_duplicates_come_cross_split_first_then_ungrouped():
    rng = np.random.default_rng(4)
    base = unit(rng.normal(0, 1, (4, 16)))
    # a: test clip; b: its copy in train (another recording); c: a clip of a's own
    # recording; d: a near-identical pair inside train from two recordings; e/f: unrelated.
    rows = [base[0], base[0] + 0.05, base[0] + 0.01, base[1], base[1] + 0.001,
            base[2], base[3], base[0] + 0.002]
    classes = ["x", "x", "x", "y", "y", "y", "x", "x"]
    groups = ["x/g1", "x/g2", "x/g1", "y/g1", "y/g2", "y/g3", "x/g9", "x/g1"]
    splits = ["test", "train", "test", "train", "train", "train", "train", "unused"]
    table = near_duplicates(make_clips(unit(np.array(rows)), classes, groups, splits), 0.9)
    first = table.iloc[0]
    assert (first.a, first.b) == ("x/clip000.avi", "x/clip001.avi") or first.cross_split
    assert table.cross_split.tolist() == sorted(table.cross_split, reverse=True)
    crossing = table[table.cross_split]
    assert set(zip(crossing.a, crossing.b, strict=True)) == {("x/clip000.avi", "x/clip001.avi"),
                                               ("x/clip001.avi", "x/clip002.avi")}
    assert crossing.similarity.is_monotonic_decreasing
    rest = table[~table.cross_split]
    assert rest.same_group.tolist() == sorted(rest.same_group)  # ungrouped pairs first
    assert (rest.iloc[0].a, rest.iloc[0].b) == ("y/clip003.avi", "y/clip004.avi")
    unused = table[(table.a_split == "unused") | (table.b_split == "unused")]
    assert len(unused) and not unused.cross_split.any()  # "unused" is on no side
    assert len(near_duplicates(make_clips(unit(np.array(rows)), classes, groups, splits),
                               0.9, limit=2)) == 2


def test_clip_matrix_is_unit_length_and_keeps_black_clips_finite():
    frames = [np.ones((4, 8)) * 3, np.zeros((2, 8)), np.arange(16).reshape(2, 8)]
    matrix = clip_matrix(frames)
    assert matrix.dtype == np.float32 and np.isfinite(matrix).all()
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), [1, 0, 1], atol=1e-6)


def test_dataset_version_follows_the_files(tmp_path):
    spec = FeatureSpec("efficientnet_lite0", None, precision="float32", engine="keras")
    a, b = tmp_path / "a.avi", tmp_path / "b.avi"
    a.write_bytes(b"1")
    b.write_bytes(b"2")
    first = dataset_version(spec, [a, b])
    assert dataset_version(spec, [a, b]) == first
    assert dataset_version(spec, [b, a]) != first
    b.write_bytes(b"22")  # an edited clip
    assert dataset_version(spec, [a, b]) != first


def tiny_clips(tmp_path, n=12):
    matrix, ids = clustered(3, n // 3, seed=5)
    classes = [f"c{i}" for i in ids]
    groups = [f"c{i}/g{j % 2}" for j, i in enumerate(ids)]
    return make_clips(matrix, classes, groups, ["train"] * n, tmp_path / "maps")


def test_tiny_sets_are_mapped_by_pca_and_cached(tmp_path, monkeypatch):
    clips = tiny_clips(tmp_path)
    first = layout.clip_map(clips, seed=3)
    assert (first.method, first.cached) == ("pca", False)
    assert list(first.table.columns) == list(layout.COLUMNS)
    assert first.table.path.tolist() == clips.paths
    assert np.isfinite(first.table[["x", "y"]].to_numpy()).all()

    def no_recompute(*_):
        raise AssertionError("the cached map was computed again")

    monkeypatch.setattr(layout, "layout", no_recompute)
    again = layout.clip_map(clips, seed=3)
    assert again.cached and again.file == first.file and again.file.is_file()
    np.testing.assert_array_equal(again.table[["x", "y"]], first.table[["x", "y"]])


def test_a_damaged_or_torn_cache_is_recomputed(tmp_path, monkeypatch):
    clips = tiny_clips(tmp_path)
    first = layout.clip_map(clips)
    first.file.write_bytes(first.file.read_bytes()[:40])  # torn (not by vidcore's writes)
    again = layout.clip_map(clips)
    assert not again.cached
    np.testing.assert_array_equal(again.table[["x", "y"]], first.table[["x", "y"]])
    assert layout.clip_map(clips).cached


def test_a_write_killed_midway_leaves_no_cache_and_no_temp(tmp_path, monkeypatch):
    clips = tiny_clips(tmp_path)

    def killed(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # what a kill during the write looks like from inside

    monkeypatch.setattr(cache.np, "savez", killed)
    with pytest.raises(KeyboardInterrupt):
        layout.clip_map(clips)
    monkeypatch.undo()
    folder = clips.cache_dir
    assert not list(folder.glob("*.npz")) and not list(folder.glob(f"{TEMP_PREFIX}*"))
    assert not layout.clip_map(clips).cached and layout.clip_map(clips).cached


def test_no_cache_folder_means_no_files_and_the_same_map(tmp_path):
    clips = tiny_clips(tmp_path)
    bare = ClipFeatures(clips.records, clips.matrix, clips.classes)
    a, b = layout.clip_map(bare, 1), layout.clip_map(bare, 1)
    assert a.file is None and not a.cached and not b.cached
    np.testing.assert_array_equal(a.table[["x", "y"]], b.table[["x", "y"]])
    assert layout.clip_map(ClipFeatures(clips.records[:1], clips.matrix[:1],
                                        clips.classes)).table[["x", "y"]].eq(0).all().all()


@pytest.mark.parametrize("recordings,unjudged", [
    ((1, 4, 3), {"c0"}),  # one recording: its clips cannot be judged
    ((2, 2, 2), set()),
    ((1, 1, 3), {"c0", "c1", "c2"}),  # one judgeable class: nothing to compare it with
])
def test_label_issues_leave_classes_of_one_recording_unjudged(recordings, unjudged):
    matrix, ids = clustered(3, 6, seed=6)
    classes = [f"c{i}" for i in ids]
    groups = [f"c{i}/g{j % recordings[i]}" for j, i in enumerate(ids)]
    # One clip of c2 filed under c1's first recording: found where both can be judged.
    classes[-1], groups[-1] = "c1", "c1/g0"
    clips = make_clips(matrix, classes, groups, ["train"] * len(ids))
    issues = label_issues(clips)
    assert {p.split("/")[0] for p in issues.unjudged} == unjudged
    assert not set(issues.table.given) & unjudged
    assert list(issues.table.columns)[:4] == ["path", "given", "suggested", "score"]
    if not unjudged:
        first = issues.table.iloc[0]
        assert (first.path, first.given, first.suggested) == (clips.paths[-1], "c1", "c2")


def test_label_issues_of_a_two_clip_dataset_are_empty_not_an_error():
    clips = make_clips(unit(np.eye(2, 4)), ["a", "b"], ["a/g1", "b/g1"], ["train", "test"])
    issues = label_issues(clips)
    assert issues.table.empty and len(issues.unjudged) == 2


def test_a_misfiled_twin_is_flagged_and_its_recording_mates_are_not():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (2, 32))
    # 4 recordings a class, 3 clips each; recordings as far apart as the classes, so
    # that a held-out recording's nearest training clip is its twin (without the echo
    # filter its 3 clips come out as issues, suggested "b").
    recordings = rng.normal(0, 1.0, (8, 32))
    rows, classes, groups = [], [], []
    for r in range(8):
        for _ in range(3):
            rows.append(centres[r // 4] + recordings[r] + rng.normal(0, 0.05, 32))
            classes.append("ab"[r // 4])
            groups.append(f"{'ab'[r // 4]}/g{r}")
    # A near copy of the first clip of recording a/g0, filed under b as a recording of its own.
    rows.append(rows[0] + rng.normal(0, 0.01, 32))
    classes.append("b")
    groups.append("b/upload")
    clips = make_clips(unit(np.array(rows)), classes, groups, ["train"] * len(rows))
    issues = label_issues(clips).table
    assert issues.iloc[0].path == clips.paths[-1] and issues.iloc[0].suggested == "a"
    assert not set(issues.path) & set(clips.paths[:3])  # a/g0's clips echo nothing
