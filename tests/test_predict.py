"""Prediction of one video: JSON contract, model resolution, CLI errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import write_video

from vidcore import runs
from vidcore.cli import main
from vidcore.errors import RunError
from vidcore.predict import load_model, predict

UP_VIDEO = "Up/v_Up_g09_c01.avi"
DEMO_MODEL = Path(__file__).resolve().parents[1] / "weights" / "demo_model"


def test_temporal_prediction_contract(synthetic_runs, fake_features):
    result = predict(synthetic_runs.runs["temporal_conv"], synthetic_runs.data / UP_VIDEO)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["classes"] == ["Clap", "Down", "Up", "Wave"]
    assert data["temporal_label"] == "Up" and data["primary_label"] == "Up"
    assert data["primary"] == "temporal" and 0 < data["temporal_confidence"] <= 1
    assert data["label"] in data["classes"] and 0 < data["vote_share"] <= 1
    assert data["mean_label"] in data["classes"] and 0 < data["mean_confidence"] <= 1
    assert len(data["frames"]) == 8 and data["frames"][1]["time"] == 0.25
    top = data["frames"][0]["top"]
    assert len(top) == 4 and all(isinstance(c, str) and 0 <= p <= 1 for c, p in top)
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert len(data["probabilities"]) == 8 and len(data["probabilities"][0]) == 4
    assert set(data["aggregators"]) == {"temporal", "mode", "mean"}


def test_frame_head_has_no_temporal_label(synthetic_runs, fake_features):
    model = load_model(synthetic_runs.runs["frame_mlp"])
    first = predict(model, synthetic_runs.data / "Clap/v_Clap_g08_c01.avi", top_k=2)
    again = predict(model, synthetic_runs.data / "Wave/v_Wave_g08_c01.avi", top_k=2)
    assert first.temporal_label is None and first.primary == "mode"
    assert first.label == "Clap" and again.label == "Wave"
    assert first.primary_confidence == first.vote_share
    assert all(len(f.top) == 2 for f in first.frames)


def test_active_model_then_demo_model_then_a_clear_error(synthetic_runs, fake_features,
                                                         tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "DEMO_MODEL_DIR", tmp_path / "no-demo")
    with pytest.raises(RunError, match="--model"):
        load_model()
    monkeypatch.setattr(runs, "DEMO_MODEL_DIR", synthetic_runs.runs["linear"])
    assert load_model().spec.name == "linear"
    runs.set_active_model(synthetic_runs.runs["temporal_conv"])
    assert predict(None, synthetic_runs.data / UP_VIDEO).head == "temporal_conv"


def test_cli_predict_json(synthetic_runs, fake_features, capsys):
    code = main(["predict", str(synthetic_runs.data / UP_VIDEO), "--model",
                 str(synthetic_runs.runs["linear"]), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["temporal_label"] is None and data["primary"] == "linear"
    assert {"label", "vote_share", "mean_label", "frames", "classes"} <= set(data)


def test_cli_predict_missing_video_or_run_exits_2(synthetic_runs, fake_features, tmp_path,
                                                  capsys):
    run = str(synthetic_runs.runs["linear"])
    assert main(["predict", str(tmp_path / "none.avi"), "--model", run]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not exist" in err
    assert main(["predict", str(synthetic_runs.data / UP_VIDEO), "--model",
                 str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_cli_stop_writes_the_request(synthetic_runs, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / runs.CONFIG).write_text("{}")
    assert main(["stop", str(run)]) == 0
    assert runs.stop_requested(run)
    assert main(["stop", str(tmp_path / "nope")]) == 2


@pytest.mark.slow
def test_end_to_end_on_the_tiny_demo_dataset(tiny_demo, tmp_path, monkeypatch, capsys):
    """Real decoding, backbone (random weights: fast, no files), store, train, evaluate, predict."""
    root = tiny_demo / "UCF-101"
    monkeypatch.setenv("VIDCORE_RUNS", str(tmp_path / "runs"))
    run = tmp_path / "run"
    assert main(["train", str(root), "--weights", "none", "--frames", "3", "--epochs", "2",
                 "--store", str(tmp_path / "store"), "--run-dir", str(run), "--evaluate",
                 "--activate", "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["state"] == "finished" and trained["train_videos"] > 0
    # The default preset keeps the head validation favours (issue 26): its aggregator
    # is reported with the frame vote and the mean.
    kept = {"temporal_conv": "temporal", "linear": "linear"}[trained["head"]]
    assert trained["head_choice"]["head"] == trained["head"]
    assert set(trained["report"]) == {kept, "mode", "mean"}
    assert json.loads((run / runs.REPORT).read_text())["num_videos"] == 70
    video = next(root.glob("SitDown/*.avi"))
    assert main(["predict", str(video), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["run_dir"] == str(run.resolve()) and len(data["frames"]) == 3
    assert data["primary_label"] in data["classes"] and data["duration"] == pytest.approx(2.0)
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video")
    assert main(["predict", str(broken)]) == 2
    assert "cannot read video" in capsys.readouterr().err


def _demo_model_sampling(tmp_path, sampler: dict) -> Path:
    """A copy of the shipped demo model that samples clips with ``sampler``."""
    assert (DEMO_MODEL / runs.KERAS_MODEL).is_file(), "shipped demo model missing"
    run = Path(shutil.copytree(DEMO_MODEL, tmp_path / "run"))
    config = json.loads((run / runs.CONFIG).read_text())
    (run / runs.CONFIG).write_text(json.dumps({**config, "sampler": sampler}))
    return run


@pytest.mark.slow
def test_library_and_cli_say_when_the_frame_cap_applies(tmp_path, capsys):
    run = _demo_model_sampling(tmp_path, {"name": "fps", "rate": 1.0, "max_frames": 4})
    model = load_model(run)
    long = write_video(tmp_path / "long.avi", 600, fps=25.0)  # 24 s: 24 frames at 1 per second
    result = predict(model, long)
    assert len(result.frames) == 4 and result.uncapped_frames == 24
    assert "sampled 4 of the 24 frames that 1 per second would give" in result.sampling_note
    assert "max_frames=4" in result.sampling_note
    assert json.loads(json.dumps(result.to_dict()))["uncapped_frames"] == 24
    short = write_video(tmp_path / "short.avi", 75, fps=25.0)  # 3 s: 3 frames, under the cap
    uncapped = predict(model, short)
    assert len(uncapped.frames) == 3
    assert uncapped.uncapped_frames is None and uncapped.sampling_note is None

    assert main(["predict", str(long), "--model", str(run)]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {result.sampling_note}"]
    assert main(["predict", str(short), "--model", str(run)]) == 0
    assert "note:" not in capsys.readouterr().out


@pytest.mark.slow
def test_an_uncapped_fps_run_is_capped_for_long_predictions(tmp_path, monkeypatch):
    import vidcore.predict as predict_module

    monkeypatch.setattr(predict_module, "PREDICT_MAX_FRAMES", 5)
    run = _demo_model_sampling(tmp_path, {"name": "fps", "rate": 1.0, "max_frames": None})
    model = load_model(run)
    long = write_video(tmp_path / "long.avi", 600, fps=25.0)  # 24 s: 24 frames at 1 per second
    result = predict(model, long)
    assert len(result.frames) == 5 and result.uncapped_frames == 24
    assert "max_frames=5" in result.sampling_note and "has no cap" in result.sampling_note
    assert model.feature_spec.sampler.max_frames is None  # the run itself is unchanged
    short = write_video(tmp_path / "short.avi", 75, fps=25.0)
    untouched = predict(model, short)
    assert len(untouched.frames) == 3 and untouched.sampling_note is None
