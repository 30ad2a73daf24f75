"""The Ray engine (``vidcore.distributed``) on a local two-CPU Ray instance.

The backbone weights come from a file saved from one randomly initialised model:
each Ray actor builds its own model, and random init differs between processes, so
only a weights file makes the ray engine's features comparable with the local ones.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vidcore.data.sampling import UniformSampler
from vidcore.errors import InputError
from vidcore.features import ExtractSummary, FeatureSpec, FeatureStore, VideoFeatures, extract

BACKBONE = "efficientnet_lite0"


@pytest.fixture(scope="module")
def videos(tiny_demo, tmp_path_factory):
    """12 tiny demo videos from all 10 classes (the session's, read only), and one
    corrupt file beside them in a folder of this module's."""
    root = tiny_demo / "UCF-101"
    paths = sorted(root.glob("*/*.avi"))[::9][:12]
    bad = tmp_path_factory.mktemp("broken") / "Broken" / "v_Broken_g01_c01.avi"
    bad.parent.mkdir()
    bad.write_bytes(b"not a video at all" * 100)
    return root, paths, bad


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    from vidcore.models.backbones import create_backbone

    path = tmp_path_factory.mktemp("weights") / "random.weights.h5"
    create_backbone(BACKBONE, weights=None).save_weights(str(path))
    return FeatureSpec(BACKBONE, str(path), UniformSampler(4))


def import_ray():
    """Ray, or a skip; in CI (which installs requirements-ray.txt) a missing Ray fails."""
    if os.environ.get("CI") == "true":
        import ray

        return ray
    return pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_cluster():
    ray = import_ray()
    # Small and quiet: 2 CPUs, no dashboard, the minimum-ish object store (only paths
    # and summaries travel through it).
    ray.init(address="local", num_cpus=2, include_dashboard=False,
             object_store_memory=200 * 1024**2, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_matches_local_reports_failures_and_resumes(ray_cluster, videos, spec, tmp_path):
    from vidcore.distributed import extract_ray

    _, paths, bad = videos
    local = extract(paths, spec, tmp_path / "local")
    events = []
    first = extract_ray([*paths, bad], spec, tmp_path / "ray", num_workers=2, chunk_size=4,
                        progress=events.append)
    assert (first.videos, first.computed, first.cached) == (13, 12, 0)
    assert first.frames == local.frames == 48
    assert [f["path"] for f in first.failed] == [str(bad)]
    assert "not a video vidcore can read" in first.failed[0]["reason"]
    assert events[-1]["done"] == events[-1]["total"] == 13
    assert first.store == local.store.replace(str(tmp_path / "local"), str(tmp_path / "ray"))
    want, got = FeatureStore(tmp_path / "local", spec), FeatureStore(tmp_path / "ray", spec)
    assert sorted(p.name for p in got.folder.glob("*/*.npz")) == sorted(
        p.name for p in want.folder.glob("*/*.npz"))
    for path in paths:
        a, b = want.get(path), got.get(path)
        np.testing.assert_array_equal(a.frame_ids, b.frame_ids)
        diff = np.abs(a.features.astype(np.float32) - b.features.astype(np.float32))
        assert diff.max() <= 2e-2 * max(1.0, float(np.abs(a.features).max()))  # float16

    again = extract_ray([*paths, bad], spec, tmp_path / "ray", num_workers=2)
    assert (again.computed, again.cached, again.frames) == (0, 12, 0)
    assert [f["path"] for f in again.failed] == [str(bad)]  # remembered, not retried


@pytest.mark.slow
def test_cli_ray_engine(videos, tmp_path):
    import_ray()
    _, paths, bad = videos
    for path in [*paths[:4], bad]:  # a folder-per-class dataset of 4 videos and the broken one
        (tmp_path / "ds" / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, tmp_path / "ds" / path.parent.name / path.name)
    cmd = [sys.executable, "-m", "vidcore", "extract", str(tmp_path / "ds"), "--engine", "ray",
           "--ray-workers", "1", "--weights", "none", "--frames", "2", "--store",
           str(tmp_path / "s"), "--all", "--json"]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    assert (summary["videos"], summary["computed"], summary["frames"]) == (5, 4, 8)
    assert [Path(f["path"]).name for f in summary["failed"]] == [bad.name]


def test_without_ray_the_error_says_how_to_install(monkeypatch, tmp_path):
    from vidcore.distributed import extract_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    spec = FeatureSpec(BACKBONE, None, UniformSampler(4))
    with pytest.raises(InputError, match=r"pip install -r requirements-ray\.txt"):
        extract_ray([tmp_path / "a.avi"], spec, tmp_path / "s")


def test_plan_workers_fits_every_actor_on_the_cluster():
    from vidcore.distributed import plan_workers

    assert plan_workers(16, None, 1000) == (8, 2.0)  # one actor per 2 CPUs
    assert plan_workers(2, 2, 1000) == (2, 1.0)  # asked for more: a share each
    assert plan_workers(2, 3, 1000) == (3, 2 / 3)
    assert plan_workers(64, None, 5) == (5, 2.0)  # never more actors than videos
    with pytest.raises(InputError, match="at least 1"):
        plan_workers(4, 0, 10)


def test_a_dead_worker_fails_only_what_it_did_not_store(tmp_path):
    from vidcore.distributed import died_on, merge

    spec = FeatureSpec(BACKBONE, None, UniformSampler(2))
    store = FeatureStore(tmp_path / "s", spec)
    done, lost = tmp_path / "done.avi", tmp_path / "lost.avi"
    for path in (done, lost):
        path.write_bytes(b"x")
    store.put(done, VideoFeatures(np.ones((2, 4), np.float16), np.zeros(2), np.arange(2)))
    part = died_on([str(done), str(lost)], store, "worker died")
    assert (part.cached, part.failed) == (1, [{"path": str(lost), "reason": "worker died"}])
    total = merge(merge(ExtractSummary(videos=3), part), ExtractSummary(computed=1, frames=2))
    assert (total.videos, total.cached, total.computed, total.frames) == (3, 1, 1, 2)
    assert store.failure(lost) is None  # no failure note: the next run retries it


def test_a_worker_that_cannot_see_the_store_says_shared_filesystem(tmp_path):
    from vidcore.distributed import ExtractWorker

    spec = FeatureSpec(BACKBONE, None, UniformSampler(2))
    worker = ExtractWorker(spec, str(tmp_path / "elsewhere"), 8, 1, 1)
    with pytest.raises(InputError, match="shared filesystem"):
        worker.run([str(tmp_path / "a.avi")])


def test_a_node_without_the_drivers_precision_says_what_to_do(tmp_path, monkeypatch):
    from vidcore.distributed import ExtractWorker
    from vidcore.models import precision

    monkeypatch.delenv(precision.ENV_VAR, raising=False)
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: True)
    spec = FeatureSpec(BACKBONE, None, UniformSampler(2)).pinned()  # the driver's side
    assert spec.precision == "bfloat16"
    FeatureStore(tmp_path / "s", spec)  # the driver creates the store folder
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: False)  # a node without it
    worker = ExtractWorker(spec, str(tmp_path / "s"), 8, 1, 1)
    with pytest.raises(InputError, match="VIDCORE_PRECISION=float32"):
        worker.run([str(tmp_path / "a.avi")])
