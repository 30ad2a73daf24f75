"""The background map job: a real child process that maps a dataset whose features are
already stored (planted: a test clip's twin filed in training), read back from disk."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.handmade_runs import make_dataset
from vidcore import runs
from vidcore.data.index import load_index
from vidcore.data.sampling import UniformSampler
from vidcore.features import FeatureSpec, VideoFeatures
from vidcore.features.store import FeatureStore
from vidcore.views import map_jobs

SPEC = FeatureSpec("efficientnet_lite0", None, UniformSampler(4), precision="float32",
                   engine="keras")


@pytest.fixture
def stored(tmp_path, monkeypatch):
    """16 placeholder clips (2 classes: below 20 clips the map is a PCA) whose features
    are in the store: one per class direction plus noise; the first test clip's twin
    is filed in training under a recording of its own."""
    monkeypatch.setenv("VIDCORE_PRECISION", "float32")
    monkeypatch.setenv("VIDCORE_ENGINE", "keras")
    manifest, test = make_dataset(tmp_path / "data", classes=["Clap", "Jump"])
    twin = "Clap/v_Clap_g09_c00.avi"
    (tmp_path / "data" / twin).write_bytes(b"another placeholder")
    with open(manifest, "a") as f:
        f.write(f"{twin},Clap,g9,train\n")
    index = load_index(manifest)
    store, rng = FeatureStore(tmp_path / "store", SPEC, "float32"), np.random.default_rng(0)
    centres = rng.normal(size=(2, 32))
    feats = {r.path: centres[r.label] + rng.normal(scale=0.8, size=(4, 32))
             for r in index.records}
    feats[twin] = feats[test[0]["path"]]
    for r in index.records:
        store.put(index.path_of(r), VideoFeatures(feats[r.path].astype(np.float16),
                                                  np.arange(4.0), np.arange(4)))
    return index, tmp_path / "store", test[0]["path"], twin


def _wait(folder, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while (state := map_jobs.job_state(folder))["state"] == "running":
        assert time.monotonic() < deadline, map_jobs.job_state(folder)
        time.sleep(0.2)
    return state


def test_a_background_job_maps_the_dataset_and_is_read_back_from_disk(stored):
    index, store, original, twin = stored
    folder = map_jobs.job_folder(index, SPEC, store)
    assert map_jobs.job_state(folder) == {"state": "none"}
    assert map_jobs.start_map_job(index, SPEC, store) == folder
    state = _wait(folder)
    assert state["state"] == "done", (folder / map_jobs.LOG).read_text()
    result = state["result"]
    assert result["clips"] == len(index.records) == 17
    first = result["duplicates"][0]
    assert {first["a"], first["b"]} == {original, twin} and first["cross_split"]
    assert result["map"]["method"] == "pca"
    assert runs.read_json(folder / map_jobs.PROGRESS)["stage"] == "mapping"
    pid = runs.read_json(folder / map_jobs.JOB)["pid"]
    map_jobs.start_map_job(index, SPEC, store)  # done: nothing starts again
    assert runs.read_json(folder / map_jobs.JOB)["pid"] == pid
    Path(result["map"]["file"]).unlink()  # its cache cleared: mapped again when asked
    assert map_jobs.job_state(folder) == {"state": "none"}


def test_a_changed_dataset_has_another_job(stored, tmp_path):
    index, store, _, twin = stored
    before = map_jobs.job_folder(index, SPEC, store)
    (tmp_path / "data" / twin).write_bytes(b"edited")
    assert map_jobs.job_folder(index, SPEC, store) != before
    assert map_jobs.job_folder(index, SPEC, store) == map_jobs.job_folder(index, SPEC, store)


def test_a_job_whose_process_died_says_why(stored):
    index, store, _, _ = stored
    folder = map_jobs.job_folder(index, SPEC, store)
    folder.mkdir(parents=True)
    runs.write_json(folder / map_jobs.JOB, {"pid": 2 ** 22 + 12345})  # no such process
    (folder / map_jobs.LOG).write_text("loading\nerror: the store is not readable\n")
    assert map_jobs.job_state(folder) == {"state": "failed",
                                          "error": "error: the store is not readable"}


def test_the_folder_stays_put_when_the_job_settles_the_precision(stored, monkeypatch):
    """An "auto" spec on a bfloat16 CPU: its precision is unsettled when the page starts
    the job and bfloat16 once the job's extraction has measured the engines; the page
    must find the job in the same folder before and after (it used to look elsewhere
    and offer "Map this dataset" again)."""
    from dataclasses import replace

    from vidcore.errors import InputError
    from vidcore.features import spec as spec_module

    index, store, _, _ = stored
    auto = replace(SPEC, precision="auto")
    monkeypatch.delenv("VIDCORE_PRECISION", raising=False)

    def unsettled(self, measure=True):
        raise InputError("not settled yet")

    monkeypatch.setattr(spec_module.FeatureSpec, "compute_precision", unsettled)
    before = map_jobs.job_folder(index, auto, store)
    monkeypatch.setattr(spec_module.FeatureSpec, "compute_precision",
                        lambda self, measure=True: "bfloat16")
    assert "__bf16__" in auto.folder_name()  # the feature set's name did move
    assert map_jobs.job_folder(index, auto, store) == before
    # a precision the user forces is another feature set: another job
    assert map_jobs.job_folder(index, SPEC, store) != before
    monkeypatch.setenv("VIDCORE_PRECISION", "float32")
    assert map_jobs.job_folder(index, auto, store) != before
