"""Training: run directories, metrics stream, stop requests, failures, presets, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

from vidcore import runs
from vidcore.cli import main
from vidcore.data.sampling import FpsSampler, UniformSampler
from vidcore.errors import InputError, TrainingError, WeightsError
from vidcore.models.loading import load_model
from vidcore.presets import preset_config
from vidcore.train import TrainConfig, train


def _config(csv, **options) -> TrainConfig:
    values = {"head": "temporal_conv", "weights": None, "val_fraction": 0.3, "epochs": 3,
              "batch_size": 8, "width": 16, "log_every": 1, **options}
    return TrainConfig(dataset=str(csv), **values)


@pytest.mark.parametrize("head", ["frame_mlp", "temporal_conv", "linear"])
def test_each_head_beats_chance_on_validation(synthetic_runs, head):
    result = synthetic_runs.results[head]
    assert result.state == "finished"
    # 4 classes: chance is 0.25. Mean-pooled features cannot tell the time-reversed
    # Up/Down pair apart, so the linear head gets the two static classes right only.
    assert result.best_val_accuracy >= (0.5 if head == "linear" else 0.6)
    assert load_model(synthetic_runs.runs[head]).spec.name == head


def test_run_directory_is_complete(synthetic_runs):
    run = synthetic_runs.runs["temporal_conv"]
    for name in (runs.CONFIG, runs.CLASSES, runs.METRICS, runs.STATUS, runs.KERAS_MODEL,
                 runs.SCALING):
        assert (run / name).is_file(), name
    assert (synthetic_runs.runs["linear"] / runs.LINEAR_MODEL).is_file()
    config = TrainConfig.from_dict(json.loads((run / runs.CONFIG).read_text()))
    assert config.head == "temporal_conv" and config.sampler == UniformSampler(8)
    assert json.loads((run / runs.CLASSES).read_text()) == ["Clap", "Down", "Up", "Wave"]
    status = runs.read_status(run)
    assert status["state"] == "finished" and status["pid"] > 0
    assert {"started", "ended", "best_val_loss", "best_val_accuracy", "best_epoch"} <= set(status)


@pytest.mark.parametrize("head", ["temporal_conv", "linear"])
def test_training_fits_the_runs_calibration_and_familiarity(synthetic_runs, head):
    """What predictions ask of a run (vidcore.trust) is written by training itself."""
    from vidcore.calibration import CALIBRATION
    from vidcore.trust import Trust

    run = synthetic_runs.runs[head]
    assert (run / CALIBRATION).is_file()
    trust = Trust.load(run)
    assert trust.calibration["fitted_on"] == "validation" and trust.familiarity is not None
    [record] = runs.read_metrics(run, "trust")
    assert record["fitted"] and record["familiarity_threshold"] == trust.familiarity.threshold
    known = trust.familiarity.bank[:1].astype(np.float32)  # a training clip, as 1 frame
    away = -trust.familiarity.bank.mean(axis=0, keepdims=True)  # opposite every training clip
    assert trust.check(known)["unfamiliar"] is False
    assert trust.check(away)["unfamiliar"] is True


def test_metrics_stream_has_batches_epochs_and_extraction(synthetic_runs):
    run = synthetic_runs.runs["frame_mlp"]
    kinds = {r["kind"] for r in runs.read_metrics(run)}
    assert kinds == {"extract", "batch", "epoch", "trust"}
    epochs = runs.read_metrics(run, "epoch")
    assert [e["epoch"] for e in epochs] == list(range(1, 9))
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "step", "time"} <= set(epochs[0])
    batches = runs.read_metrics(run, "batch")
    assert batches and all("loss" in b and b["step"] % 2 == 0 for b in batches)
    best = min(epochs, key=lambda e: e["val_loss"])
    assert runs.read_status(run)["best_epoch"] == best["epoch"]


def test_torn_metrics_line_is_skipped(tmp_path):
    (tmp_path / runs.METRICS).write_text('{"kind": "epoch", "epoch": 1}\n{"kind": "ep')
    assert runs.read_metrics(tmp_path) == [{"kind": "epoch", "epoch": 1}]


def test_stop_file_keeps_best_model_and_a_complete_run(fake_features, tmp_path):
    csv = fake_features.make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    seen = []

    def stop_after_first_batch(record):
        seen.append(record)
        if record["kind"] == "batch":
            runs.request_stop(run)

    result = train(_config(csv, epochs=50), run, callback=stop_after_first_batch)
    assert result.state == "stopped" and result.epochs_run == 1
    assert runs.read_status(run)["state"] == "stopped"
    assert runs.read_metrics(run) == [{k: v for k, v in r.items()} for r in seen]
    assert runs.read_metrics(run, "epoch")[-1]["partial"] is True
    model = load_model(run)
    assert model.predict_features(fake_features.features_of(csv.parent / "Up/v_Up_g09_c01.avi"))


def test_stop_event_stops_in_process(fake_features, tmp_path):
    csv = fake_features.make_dataset(tmp_path / "data")
    event = threading.Event()

    def stop_on_second_epoch(record):
        if record["kind"] == "epoch":
            event.set()

    result = train(_config(csv, epochs=50, head="frame_mlp"), tmp_path / "run",
                   callback=stop_on_second_epoch, stop_event=event)
    assert result.state == "stopped" and result.epochs_run == 2
    assert result.best_epoch in (1, 2)
    assert runs.model_file(tmp_path / "run").name == runs.KERAS_MODEL


def test_failure_marks_the_run_failed(fake_features, tmp_path, monkeypatch):
    import vidcore.train as train_module

    csv = fake_features.make_dataset(tmp_path / "data")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(train_module, "create_head", broken)
    with pytest.raises(TrainingError, match="boom"):
        train(_config(csv), tmp_path / "run")
    status = runs.read_status(tmp_path / "run")
    assert status["state"] == "failed" and "boom" in status["error"]
    assert (tmp_path / "run" / runs.CONFIG).is_file() and "ended" in status


def test_bad_dataset_fails_the_run_with_the_input_error(fake_features, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        train(_config(tmp_path / "missing"), tmp_path / "run")
    assert runs.read_status(tmp_path / "run")["state"] == "failed"


def test_a_dead_running_process_reads_as_interrupted(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    runs.write_status(tmp_path, "running")
    status = json.loads((tmp_path / runs.STATUS).read_text())
    status["pid"] = proc.pid
    runs.write_json(tmp_path / runs.STATUS, status)
    assert runs.read_status(tmp_path)["state"] == "failed"
    assert "interrupted" in runs.read_status(tmp_path)["error"]


def test_same_seed_same_training(fake_features, tmp_path):
    csv = fake_features.make_dataset(tmp_path / "data")
    losses = []
    for name in ("a", "b"):
        train(_config(csv, epochs=2), tmp_path / name)
        losses.append([e["val_loss"] for e in runs.read_metrics(tmp_path / name, "epoch")])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)


def test_presets_and_overrides(tmp_path):
    ref = preset_config("reference", tmp_path)
    assert (ref.backbone, ref.head, ref.batch_size, ref.epochs) == ("vgg16", "frame_mlp", 128, 200)
    assert ref.sampler == FpsSampler(1.0) and ref.patience is None
    assert ref.scaling_kind() == "train_max" and ref.learning_rate == 1e-3
    default = preset_config("default", tmp_path, epochs=3)
    assert default.head == "temporal_conv" and default.epochs == 3
    assert default.scaling_kind() == "standard"
    assert default.choose_head and default.balance and not ref.balance
    assert not preset_config("default", tmp_path, head="temporal_conv").choose_head
    with pytest.raises(InputError, match="default, reference, linear"):
        preset_config("best", tmp_path)
    with pytest.raises(InputError, match="epochs"):
        preset_config("default", tmp_path, epochs=0)


def test_cli_options_override_the_preset(tmp_path):
    from vidcore.cli import build_parser
    from vidcore.commands.train import config_from_args

    args = build_parser().parse_args(["train", str(tmp_path), "--frames", "4", "--patience",
                                      "0", "--weights", "none", "--lr", "0.01"])
    config = config_from_args(args)
    assert config.sampler == UniformSampler(4) and config.patience is None
    assert config.weights is None and config.learning_rate == 0.01
    args = build_parser().parse_args(["train", str(tmp_path), "--sampler", "fps", "--rate", "2"])
    assert config_from_args(args).sampler == FpsSampler(2.0)


def test_reference_preset_without_vgg16_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(WeightsError, match="vgg16"):
        train(preset_config("reference", tmp_path), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_cli_train_prints_the_run_directory(fake_features, tmp_path, capsys):
    csv = fake_features.make_dataset(tmp_path / "data")
    run = tmp_path / "run"
    code = main(["train", str(csv), "--preset", "linear", "--weights", "none",
                 "--val-fraction", "0.3", "--run-dir", str(run), "--activate"])
    assert code == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(run)
    assert runs.active_model() == run.resolve()


def test_cli_train_bad_input_exits_2_with_one_line(fake_features, tmp_path, capsys):
    assert main(["train", str(tmp_path / "nowhere"), "--weights", "none"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "does not exist" in err
