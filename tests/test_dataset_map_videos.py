"""The dataset map on generated videos with planted faults (tests/dataset_map_world.py),
through the library and ``vidcore inspect``: real decoding, real Lite0 features."""

from __future__ import annotations

import csv
import json

import dataset_map_world as world
import numpy as np
import pytest

from vidcore.cli import main
from vidcore.data.index import load_index
from vidcore.data.sampling import UniformSampler
from vidcore.dataset_map import clip_features, clip_map, inspect_dataset, layout, near_duplicates
from vidcore.dataset_map.mislabels import label_issues
from vidcore.features import FeatureSpec

# What `vidcore inspect --frames 4` resolves to with VIDCORE_PRECISION=float32 and
# VIDCORE_ENGINE=keras (set below): one feature set, extracted once for the module.
SPEC = FeatureSpec("efficientnet_lite0", "imagenet", UniformSampler(4), precision="float32",
                   engine="keras")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("map-world")
    manifest = world.make_world(root / "data")
    store = root / "store"
    events = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VIDCORE_ENGINE", "keras")
        clips = clip_features(load_index(manifest), SPEC, store, progress=events.append)
    return manifest, store, clips, events


@pytest.fixture
def cli_env(monkeypatch, dataset):
    monkeypatch.setenv("VIDCORE_ENGINE", "keras")
    monkeypatch.setenv("VIDCORE_PRECISION", "float32")
    manifest, store, _, _ = dataset
    return ["inspect", str(manifest), "--store", str(store), "--frames", "4"]


def test_missing_features_are_extracted_with_progress(dataset):
    _, _, clips, events = dataset
    assert len(clips) == 40 and not clips.unreadable
    assert events and events[-1]["done"] == events[-1]["total"] == 40
    np.testing.assert_allclose(np.linalg.norm(clips.matrix, axis=1), 1, atol=1e-5)


def test_a_reencoded_copy_of_a_test_clip_is_the_first_cross_split_pair(dataset):
    _, _, clips, _ = dataset
    pairs = near_duplicates(clips)
    first = pairs.iloc[0]
    assert {first.a, first.b} == {world.ORIGINAL, world.COPY}
    assert first.cross_split and not first.same_group and first.similarity > 0.97


def test_clips_filed_under_another_class_lead_the_label_issues(dataset):
    _, _, clips, _ = dataset
    issues = label_issues(clips).table
    top = issues.head(len(world.MISFILED))
    assert set(top.path) == set(world.MISFILED)
    assert set(top.given) == {"stripes"} and set(top.suggested) == {"dots"}
    assert (top.score < 0.5).all()


@pytest.mark.slow  # two UMAP fits, and numba compiling UMAP on the first
def test_the_map_is_reproducible_for_a_seed_and_read_back_from_its_cache(dataset,
                                                                        monkeypatch):
    _, _, clips, _ = dataset
    first = clip_map(clips, seed=7)
    assert first.method == "umap" and not first.cached and first.file.is_file()
    fresh = layout.layout(clips, seed=7)[0]  # computed again, no cache involved
    np.testing.assert_allclose(fresh, first.table[["x", "y"]].to_numpy(), atol=1e-5)

    def no_recompute(*_):
        raise AssertionError("the cached map was computed again")

    monkeypatch.setattr(layout, "layout", no_recompute)
    again = clip_map(clips, seed=7)
    assert again.cached
    np.testing.assert_array_equal(again.table[["x", "y"]], first.table[["x", "y"]])


def test_inspect_json_lists_the_planted_faults_first(cli_env, capsys):
    assert main(cli_env + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    first = data["duplicates"][0]
    assert set(first) >= {"a", "b", "similarity", "cross_split", "same_group"}
    assert {first["a"], first["b"]} == {world.ORIGINAL, world.COPY} and first["cross_split"]
    assert all(isinstance(d["similarity"], float) for d in data["duplicates"])
    issues = data["label_issues"]
    assert set(issues[0]) >= {"path", "given", "suggested", "score"}
    assert {i["path"] for i in issues[:3]} == set(world.MISFILED)
    with open(data["map"]["file"], newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["path"] for r in rows) == sorted(r.path for r in load_index(
        cli_env[1]).records)
    assert {"x", "y", "class", "split", "group"} <= set(rows[0])


def test_inspect_prints_a_short_report(cli_env, capsys):
    assert main(cli_env + ["--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert world.COPY in out and any(path in out for path in world.MISFILED)
    assert "across the split" in out and "map: 40 clips by umap" in out


@pytest.mark.parametrize("extra,message", [
    (["--threshold", "1.5"], "threshold 1.5 is outside (0, 1]"),
    (["--limit", "-1"], "--limit must be 0 or more"),
])
def test_inspect_errors_are_one_line(cli_env, capsys, extra, message):
    assert main(cli_env + extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidcore: error:") and message in err and "\n" not in err


def test_inspect_of_a_missing_dataset_is_one_line(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidcore: error:") and "\n" not in err


def test_inspect_dataset_returns_plain_data(dataset):
    manifest, store, _, _ = dataset
    result = inspect_dataset(load_index(manifest), SPEC, store, threshold=0.99)
    data = json.loads(json.dumps(result.to_dict(limit=1)))
    assert data["clips"] == 40 and len(data["duplicates"]) <= 1
    assert all(d["similarity"] >= 0.99 for d in data["duplicates"])
    assert result.map.cached or result.map.method == "umap"
