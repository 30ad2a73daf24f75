"""kill -9 in the middle of extraction and of training: nothing lost, nothing corrupt."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests import app_world
from vidcore import runs
from vidcore.doctor import doctor
from vidcore.features import VideoFeatures, entry_files
from vidcore.predict import load_model

pytestmark = pytest.mark.slow


CLIPS = 40  # 4 recordings of each of the 10 classes: enough to be killed midway


@pytest.fixture(scope="module")
def tiny(tiny_demo, tmp_path_factory):
    """Four recordings a class of the session's tiny demo (links: read only here)."""
    return app_world.demo_subset(tiny_demo / "UCF-101", tmp_path_factory.mktemp("tiny"),
                                 recordings=CLIPS // 10)


def start(*args):
    cmd = [sys.executable, "-m", "vidcore", *map(str, args)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def wait_for(condition, proc, seconds=180):
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, "the process ended before it could be killed"
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.2)


def entries(store):
    return [e for folder in store.glob("*") if folder.is_dir() for e in entry_files(folder)]


def test_kill_during_extraction_then_resume(tiny, tmp_path):
    store = tmp_path / "store"
    args = ("extract", tiny, "--weights", "none", "--frames", "2", "--store", store, "--all")
    proc = start(*args)
    wait_for(lambda: len(entries(store)) >= 5, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = len(entries(store))
    assert 5 <= kept < CLIPS
    report = doctor(store, tmp_path / "runs")
    assert report.damaged_entries == []  # every entry on disk is whole
    resumed = subprocess.run([sys.executable, "-m", "vidcore", *map(str, args), "--json"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-500:]
    summary = json.loads(resumed.stdout)
    assert summary["cached"] == kept and summary["computed"] == CLIPS - kept
    assert len(entries(store)) == CLIPS and doctor(store, tmp_path / "runs").damaged_entries == []


def test_kill_during_training_keeps_the_best_checkpoint(tiny, tmp_path):
    run_dir = tmp_path / "run"
    proc = start("train", tiny, "--weights", "none", "--frames", "2", "--epochs", "500",
                 "--patience", "0", "--store", tmp_path / "store", "--run-dir", run_dir)
    wait_for(lambda: len(runs.read_metrics(run_dir, "epoch")) >= 2
             and runs.model_file(run_dir) is not None, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    status = runs.read_status(run_dir)
    assert status["state"] == "failed" and "interrupted" in status["error"]
    model = load_model(run_dir)
    feats = np.random.default_rng(0).normal(size=(2, 1280)).astype(np.float16)
    output = model.predict_features(VideoFeatures(feats, np.array([0.0, 1.0]), np.array([0, 25])))
    assert np.isclose(output.clip_probs.sum(), 1.0, atol=1e-3)
