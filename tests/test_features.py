"""Feature extraction and the store on generated videos, with a random-weights backbone."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import write_video
from vidcore.data.sampling import UniformSampler
from vidcore.features import (
    FeatureSpec,
    FeatureStore,
    backbone_runner,
    extract,
    load_features,
    store_usage,
    video_features,
)
from vidcore.models.precision import SHORT

SPEC = FeatureSpec("efficientnet_lite0", None, UniformSampler(4))


@pytest.fixture(scope="module")
def model():
    """One compiled runner for the module: handed a bare Keras model, every extract or
    video_features call would fold it and trace its graph again (seconds each)."""
    from vidcore.models.backbones import create_backbone

    return backbone_runner(SPEC, create_backbone(SPEC.backbone, weights=None))


@pytest.fixture
def videos(tmp_path):
    paths = [write_video(tmp_path / "v" / f"clip{i}.avi", 20 + 7 * i) for i in range(5)]
    return paths


def test_extract_then_cache_hit(videos, tmp_path, model):
    store = tmp_path / "store"
    events = []
    first = extract(videos, SPEC, store, batch_size=6, progress=events.append, model=model)
    assert (first.videos, first.computed, first.cached, first.failed) == (5, 5, 0, [])
    assert first.frames == 20 and first.frames_per_second > 0
    assert events[-1]["done"] == 5 and events[-1]["total"] == 5
    feats = FeatureStore(store, SPEC).get(videos[2])
    assert feats.features.shape == (4, 1280) and feats.features.dtype == np.float16
    assert list(feats.frame_ids) == [0, 11, 22, 33]
    again = extract(videos, SPEC, store, model=model)
    assert (again.computed, again.cached, again.frames) == (0, 5, 0)


def test_batches_spanning_videos_match_single_video_features(videos, tmp_path, model):
    loaded, _ = load_features(videos, SPEC, tmp_path / "s", batch_size=3, model=model)
    for path, feats in zip(videos, loaded, strict=True):
        _, single = video_features(path, SPEC, model=model)
        np.testing.assert_allclose(feats.features.astype(np.float32),
                                   single.features.astype(np.float32), atol=2e-2, rtol=1e-2)
        np.testing.assert_array_equal(feats.timestamps, single.timestamps)


def test_corrupt_video_is_reported_and_skipped(videos, tmp_path, model):
    bad = tmp_path / "v" / "broken.avi"
    bad.write_bytes(b"not a video at all" * 100)
    summary = extract([*videos, bad], SPEC, tmp_path / "s", model=model)
    assert summary.computed == 5
    assert [f["path"] for f in summary.failed] == [str(bad)]
    assert "not a video" in summary.failed[0]["reason"]
    loaded, again = load_features([bad, videos[0]], SPEC, tmp_path / "s", model=model)
    assert loaded[0] is None and loaded[1] is not None
    assert again.computed == 0 and len(again.failed) == 1  # remembered, not retried


def test_resume_after_interruption_and_damaged_entries(videos, tmp_path, model):
    store_dir = tmp_path / "s"
    calls = []
    part = extract(videos, SPEC, store_dir, batch_size=4, workers=1, model=model,
                   should_stop=lambda: calls.append(1) or len(calls) >= 2)
    assert 1 <= part.computed < 5
    store = FeatureStore(store_dir, SPEC)
    done = [p for p in videos if store.get(p) is not None]
    assert len(done) == part.computed
    # a kill -9 mid-write leaves a temp file; a torn entry must read as absent
    entry = next(store.folder.glob("*/*.npz"))
    entry.write_bytes(entry.read_bytes()[:100])
    stale = store.folder / "ab" / ".tmp-dead.npz"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"partial")
    os.utime(stale, (0, 0))
    rest = extract(videos, SPEC, store_dir, model=model)
    assert rest.computed == 5 - part.computed + 1 and rest.cached == part.computed - 1
    assert all(store.get(p) is not None for p in videos)
    assert not stale.exists()


def test_edited_video_is_recomputed(videos, tmp_path, model):
    extract(videos[:1], SPEC, tmp_path / "s", model=model)
    write_video(videos[0], 90)
    summary = extract(videos[:1], SPEC, tmp_path / "s", model=model)
    assert summary.computed == 1
    assert FeatureStore(tmp_path / "s", SPEC).get(videos[0]).frame_ids[-1] == 89


def test_store_usage_and_spec_folder(videos, tmp_path, model):
    extract(videos, SPEC, tmp_path / "s", model=model)
    (row,) = store_usage(tmp_path / "s")
    assert row["videos"] == 5 and row["bytes"] > 0
    compute = SHORT[SPEC.compute_precision()]
    assert row["folder"].startswith(f"efficientnet_lite0__random__{compute}__uniform-4frames")
    spec = json.loads((tmp_path / "s" / row["folder"] / "spec.json").read_text())
    assert FeatureSpec.from_dict(spec) == SPEC


def _cli_extract(dataset, store):
    cmd = [sys.executable, "-m", "vidcore", "extract", str(dataset), "--weights", "none",
           "--frames", "4", "--store", str(store), "--json", "--all"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_concurrent_cli_extractions_share_one_store(tmp_path):
    for c in ("a", "b"):
        for i in range(6):
            write_video(tmp_path / "ds" / c / f"{c}_g{i:02d}_c1.avi", 30 + i)
    procs = [_cli_extract(tmp_path / "ds", tmp_path / "s") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    summaries = [json.loads(o[0]) for o in outs]
    for s in summaries:
        assert s["videos"] == 12 and s["failed"] == []
        assert {"videos", "frames", "computed", "cached", "failed", "seconds",
                "frames_per_second"} <= set(s)
    folder = next((tmp_path / "s").iterdir())
    entries = list(folder.glob("*/*.npz"))
    assert len(entries) == 12 and not list(folder.glob("**/.tmp-*"))
    for entry in entries:
        with np.load(entry, allow_pickle=False) as data:
            assert data["features"].shape == (4, 1280)


def test_disk_full_gives_a_clear_error_and_leaves_nothing_half_written(
        videos, tmp_path, model, monkeypatch):
    import errno

    from vidcore.errors import InputError

    store_dir = tmp_path / "s"
    extract(videos[:2], SPEC, store_dir, model=model)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(InputError, match="No space left on device.*--store"):
        extract(videos, SPEC, store_dir, model=model)
    monkeypatch.undo()
    folder = FeatureStore(store_dir, SPEC).folder
    assert not list(folder.glob("**/.tmp-*"))
    assert len(list(folder.glob("*/*.npz"))) == 2  # what was stored before is intact
    assert extract(videos, SPEC, store_dir, model=model).computed == 3
