"""The ``accurate`` preset end to end on the tiny demo (Lite2 at 260 px, 16 frames), and
the measured cost line the Train page shows."""

from __future__ import annotations

import json

from tests import app_world
from vidcore import runs
from vidcore.cli import main
from vidcore.presets import cost_line, get_preset, list_presets, measured, preset_config


def test_accurate_preset_values(tmp_path):
    values = get_preset("accurate").values
    assert "accurate" in list_presets() and list_presets()[0] == "default"
    config = preset_config("accurate", tmp_path)
    assert (config.backbone, config.head, config.weights) == (
        "efficientnet_lite2", "temporal_conv", "imagenet")
    assert values["sampler"].config() == {"name": "uniform", "frames": 16} and config.flip


def test_cli_train_accurate_then_predict(world, tmp_path, capsys, monkeypatch):
    """Train on 16 frames a clip and their mirrors through Lite2 (random weights: fast),
    then predict a clip: frames are resized to Lite2's 260 px in extraction and prediction."""
    monkeypatch.setenv("VIDCORE_RUNS", str(tmp_path / "runs"))
    # Keras: choosing the engine would convert Lite2 to LiteRT and time both first (a
    # minute and more here); test_lite_family checks Lite2 on LiteRT.
    monkeypatch.setenv("VIDCORE_ENGINE", "keras")
    run = tmp_path / "run"
    # Lite2 at 260 px on 32 frames a clip costs seconds per clip on 2 cores: few clips
    # (3 recordings a class: one each tested, validated and trained).
    dataset = app_world.demo_subset(world.dataset, tmp_path / "data", classes=2, recordings=3)
    code = main(["train", str(dataset), "--preset", "accurate", "--weights", "none",
                 "--epochs", "2", "--val-fraction", "0.34", "--run-dir", str(run),
                 "--store", str(tmp_path / "store"), "--evaluate"])
    out = capsys.readouterr().out
    assert code == 0, out
    config = runs.read_json(run / runs.CONFIG)
    assert config["backbone"] == "efficientnet_lite2"
    choice = runs.read_json(run / runs.STATUS)["head_choice"]  # validation picks the head
    assert config["head"] == choice["head"] and set(choice["candidates"]) == {
        "temporal_conv", "linear"}
    assert config["sampler"] == {"name": "uniform", "frames": 16} and config["flip"] is True
    stored = list((tmp_path / "store").glob("*/*/*.npz"))
    assert stored and all(p.parent.parent.name.endswith("__flip") for p in stored)
    import numpy as np

    with np.load(stored[0]) as entry:
        assert entry["features"].shape == (16, 1280)
    clip = next(dataset.rglob("*.avi"))
    assert main(["predict", str(clip), "--model", str(run), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["primary_label"] in runs.read_json(run / runs.CLASSES)


def test_cost_line_reads_the_benchmark_file(tmp_path):
    figures = {"machine": {"cpus": 2, "cpu_flags": ["avx2", "avx512f"], "date": "2026-12-01"},
               "presets": {"accurate": {"seconds_per_clip": 0.412, "frames_per_clip": 16.0,
                                        "engine": "litert", "precision": "float32", "flip": True,
                                        "demo_top1": 0.96},
                           "reference": {"skipped": "vgg16 ImageNet weights are not installed"}}}
    path = tmp_path / "presets.json"
    path.write_text(json.dumps(figures))
    assert measured(path) == figures
    line = cost_line("accurate", measured(path))
    assert ("0.41 s per 6-9 s clip (16 frames and their mirrors, litert float32), demo top-1 "
            "0.96") in line
    assert "2 CPUs with avx2 avx512f" in line
    assert "vgg16 ImageNet weights are not installed" in cost_line("reference", figures)
    assert cost_line("default", figures).startswith("Cost not measured yet")
    path.write_text("{broken")
    assert measured(path) == {} and cost_line("accurate", {}).startswith("Cost not measured yet")


def test_train_page_shows_the_measured_cost_of_the_chosen_preset(world, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.apptest import APP, texts

    for key, value in world.env(world.runs_with_model(tmp_path / "runs")).items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, at.exception
    assert cost_line("default") in texts(at.caption)
    [box] = [b for b in at.selectbox if b.label == "Preset"]
    box.set_value("accurate").run()
    assert cost_line("accurate") in texts(at.caption)
    assert "(16 frames and their mirrors," in cost_line("accurate")  # docs/presets.json
