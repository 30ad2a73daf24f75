"""How people tell runs apart: folder names with the dataset, labels with the classes."""

from __future__ import annotations

from vidcore import runs


def test_run_folders_and_labels_name_the_dataset_and_recipe(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDCORE_DEMO_DIR", str(tmp_path / "demo"))
    monkeypatch.setenv("VIDCORE_HOME", str(tmp_path / "home"))
    mine = {"dataset": str(tmp_path / "home" / "My Moves"), "preset": "fast", "head": "mean"}
    demo = {"dataset": str(tmp_path / "demo" / "UCF-101"), "head": "temporal_conv"}
    assert runs.run_name(mine) == "my-moves-fast"
    assert runs.run_name(demo) == "demo-temporal_conv"
    assert runs.run_name({"head": "mean"}) == "mean"
    folder = runs.new_run_dir(runs.run_name(mine), tmp_path / "runs")
    assert folder.name.endswith("-my-moves-fast") and folder.name[:8].isdigit()
    run = tmp_path / "runs" / "20261203-131100-my-moves-fast"
    run.mkdir(parents=True)
    runs.write_json(run / runs.CONFIG, mine)
    runs.write_json(run / runs.CLASSES, ["Kick", "Punch"])
    assert runs.describe_run(run) == ("My Moves · 2 classes (Kick, Punch) · fast · mean · "
                                      "3 Dec 13:11")
    runs.write_json(run / runs.CONFIG, {**demo, "dataset": str(tmp_path / "elsewhere" / "ucf")})
    runs.write_json(run / runs.CLASSES, [f"c{i}" for i in range(5)])
    assert runs.describe_run(run) == "ucf · 5 classes · temporal_conv · 3 Dec 13:11"
