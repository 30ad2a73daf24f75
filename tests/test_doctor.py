"""vidcore doctor: damaged store entries, stale temp files, damaged runs."""

import json
import os
import subprocess
import sys

import numpy as np

from tests.conftest import touch
from vidcore.data.sampling import UniformSampler
from vidcore.doctor import doctor
from vidcore.features import FeatureSpec, FeatureStore, VideoFeatures

SPEC = FeatureSpec("efficientnet_lite0", None, UniformSampler(2))


def fill_store(tmp_path):
    store = FeatureStore(tmp_path / "store", SPEC)
    feats = VideoFeatures(np.ones((2, 4), np.float16), np.array([0.0, 1.0]), np.array([0, 25]))
    for i in range(3):
        store.put(touch(tmp_path, f"v{i}.avi"), feats)
    return store


def test_doctor_finds_and_fixes_store_damage(tmp_path):
    store = fill_store(tmp_path)
    entries = sorted(store.folder.glob("*/*.npz"))
    entries[0].write_bytes(entries[0].read_bytes()[:50])  # torn by a full disk
    stale = entries[1].parent / ".tmp-abc.npz"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    report = doctor(tmp_path / "store", tmp_path / "runs")
    assert report.entries == 3 and report.feature_sets == 1
    assert [d["path"] for d in report.damaged_entries] == [str(entries[0])]
    assert report.stale_temp_files == [str(stale)] and not report.healthy
    fixed = doctor(tmp_path / "store", tmp_path / "runs", fix=True)
    assert sorted(fixed.removed) == sorted([str(entries[0]), str(stale)])
    again = doctor(tmp_path / "store", tmp_path / "runs")
    assert again.entries == 2 and again.healthy


def make_run(root, name, model_bytes):
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "classes.json").write_text('["a", "b"]')
    (run / "status.json").write_text(json.dumps({"state": "finished"}))
    (run / "model.keras").write_bytes(model_bytes)
    return run


def test_doctor_reports_damaged_runs_without_deleting_them(tmp_path):
    bad = make_run(tmp_path / "runs", "bad", b"PK\x03\x04 not really a zip")
    report = doctor(tmp_path / "store", tmp_path / "runs", fix=True)
    (row,) = [r for r in report.runs if r["run"] == str(bad)]
    assert row["problems"] == ["model.keras is damaged"]
    assert bad.exists() and report.removed == []


def test_doctor_cli(tmp_path):
    fill_store(tmp_path)
    cmd = [sys.executable, "-m", "vidcore", "doctor", "--store", str(tmp_path / "store"),
           "--runs", str(tmp_path / "runs"), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["healthy"] and data["entries"] == 3
