"""Starting training runs from the app: command lines, duplicates, early stops."""

import os
import subprocess
import sys

import pytest

from vidcore import runs
from vidcore.data.sampling import FpsSampler, UniformSampler
from vidcore.errors import InputError, RunError
from vidcore.views import launch


def test_argv_names_only_what_differs_from_the_preset(tmp_path):
    argv = launch.train_argv(tmp_path, 2, "default", sampler=UniformSampler(8),
                             backbone="efficientnet_lite0", head="temporal_conv",
                             weights="imagenet", epochs=5, lr=1e-3)
    assert argv == ["train", str(tmp_path), "--split", "2", "--preset", "default",
                    "--epochs", "5"]
    argv = launch.train_argv(tmp_path, 1, "default", sampler=FpsSampler(2.0), weights="none")
    assert argv[-6:] == ["--weights", "none", "--sampler", "fps", "--rate", "2.0"]


def test_planned_config_is_what_the_cli_would_train(tmp_path):
    argv = launch.train_argv(tmp_path, 1, "default", sampler=UniformSampler(3), weights="none",
                             epochs=7)
    config = launch.planned_config(argv)
    assert (config.epochs, config.weights, config.sampler.config()["frames"]) == (7, None, 3)
    with pytest.raises(InputError):
        launch.planned_config(["train", str(tmp_path), "--epochs", "many"])


def _fake_run(root, name, config, state="running", pid=None):
    run = root / name
    run.mkdir(parents=True)
    runs.write_json(run / runs.CONFIG, config.to_dict())
    runs.write_json(run / runs.STATUS, {"state": state, "pid": pid or os.getpid()})
    return run


def test_a_running_identical_run_is_found_and_a_finished_one_is_not(tmp_path):
    config = launch.planned_config(launch.train_argv(tmp_path, 1, "default", weights="none"))
    other = launch.planned_config(launch.train_argv(tmp_path, 1, "default", weights="none",
                                                    epochs=3))
    root = tmp_path / "runs"
    _fake_run(root, "a-finished", config, state="finished")
    assert launch.find_running(config, root) is None
    running = _fake_run(root, "b-running", config)
    assert launch.find_running(config, root) == running
    assert launch.find_running(other, root) is None


def test_a_launch_whose_process_died_is_not_running_and_says_why(tmp_path):
    config = launch.planned_config(launch.train_argv(tmp_path, 1, "default", weights="none"))
    run = tmp_path / "runs" / "x"
    run.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    runs.write_json(run / launch.LAUNCH, {"pid": dead.pid, "config": config.to_dict()})
    (run / launch.LOG).write_text("vidcore: error: something broke\n")
    assert launch.find_running(config, tmp_path / "runs") is None
    state = launch.run_state(run)
    assert state["state"] == "failed" and "something broke" in state["error"]


def test_duplicate_start_is_refused(tmp_path, monkeypatch):
    started = []

    class FakeProc:
        pid = os.getpid()  # "alive" for as long as the test runs

        def wait(self):
            return 0

    monkeypatch.setattr(launch, "_spawn", lambda argv, run_dir: started.append(run_dir)
                        or FakeProc())
    argv = launch.train_argv(tmp_path, 1, "default", weights="none")
    first = launch.start_training(argv, tmp_path / "runs")
    assert launch.run_state(first) == {"state": "starting"}
    with pytest.raises(RunError, match="already running"):
        launch.start_training(argv, tmp_path / "runs")
    assert started == [first]


def test_stop_before_the_child_wrote_its_config(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    runs.write_json(run / launch.LAUNCH, {"pid": 0})
    launch.request_stop(run)
    assert runs.stop_requested(run)
    with pytest.raises(RunError):
        launch.request_stop(tmp_path / "nothing")


def test_busy_run_is_the_newest_launch_still_starting_or_running(tmp_path):
    """After a reload the Train page watches this run: one still loading counts too."""
    config = launch.planned_config(launch.train_argv(tmp_path, 1, "default", weights="none"))
    root = tmp_path / "runs"
    root.mkdir()
    assert launch.busy_run(root) is None
    finished = _fake_run(root, "a-finished", config, state="finished")
    runs.write_json(finished / launch.LAUNCH, {"pid": os.getpid()})
    assert launch.busy_run(root) is None
    starting = root / "b-starting"  # launched, its child has written nothing yet
    starting.mkdir()
    runs.write_json(starting / launch.LAUNCH, {"pid": os.getpid(), "config": config.to_dict()})
    assert launch.busy_run(root) == starting
    running = _fake_run(root, "c-running", config)
    runs.write_json(running / launch.LAUNCH, {"pid": os.getpid()})
    assert launch.busy_run(root) == running
