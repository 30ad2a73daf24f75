"""Every page of the app, run headless with Streamlit's AppTest on the tiny world.

The ``app`` fixture (tests/conftest.py) is app.py on the tiny world, already run once
(Home), with ``runs_dir`` as its runs folder.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from tests import app_world
from tests.apptest import APP, open_page, texts  # noqa: F401 - APP: test_presets_accurate
from tests.videos import write_video
from vidcore import runs
from vidcore.views import launch
from webapp import media, state

# Live is missing: AppTest cannot run its camera component (test_browser opens it for real).
PAGES = ["home", "dataset", "datasets", "train", "evaluate", "predict"]


@pytest.mark.parametrize("name", PAGES)
def test_no_page_raises(app, name):
    app.switch_page(f"app_pages/{name}.py").run()
    assert not app.exception
    assert not app.error, texts(app.error)
    assert app.title, "every page has a title"


def test_home_states_dataset_cache_and_active_model(app, world):
    values = {m.label: m.value for m in app.metric}
    assert values["Dataset"] == "100 videos"
    assert values["Active model"] == world.run.name
    assert values["Trained models"] == "1"
    assert len(app.get("page_link")) == 6


def test_dataset_cards_chart_and_leakage_check(app):
    open_page(app, "dataset")
    values = {m.label: m.value for m in app.metric}
    assert values["Classes"] == "10" and values["Videos"] == "100"
    assert values["Total duration"] == "3 min 20 s"  # 100 clips of 2 s
    assert "No group is on both sides" in texts(app.success)
    assert app.get("plotly_chart")


def test_dataset_filters_change_the_table(app):
    open_page(app, "dataset")
    table = app.dataframe[-1]
    assert len(table.value) == 100
    classes = next(m for m in app.multiselect if m.label == "Classes")
    classes.set_value(["ArmWave", "Kick"]).run()
    assert len(app.dataframe[-1].value) == 20
    assert "20 of 100 videos" in texts(app.caption)
    splits = next(m for m in app.multiselect if m.label == "Splits")
    splits.set_value(["train"]).run()
    assert len(app.dataframe[-1].value) == 6  # 3 train groups x 1 clip x 2 classes
    app.text_input[0].set_value("g09").run()
    assert set(app.dataframe[-1].value["group"]) == {"ArmWave/g09", "Kick/g09"}


def test_dataset_frame_strip_follows_the_sidebar_sampler(app):
    open_page(app, "dataset")
    media.PREVIEWS.wait_idle(60)  # converted in the background: the next run shows it
    assert app.run().get("video")  # the clip plays (as H.264 MP4)
    assert len(app.image[0].captions) == 8  # the strip: one image per sampled frame
    assert "uniform, 8 frames" in texts(app.markdown)
    app.sidebar.slider[0].set_value(5).run()
    assert "uniform, 5 frames" in texts(app.markdown) and len(app.image[0].captions) == 5
    open_page(app, "home")
    open_page(app, "dataset")  # the sampler survives a trip to another page
    assert "uniform, 5 frames" in texts(app.markdown)


def test_folder_outside_the_allowed_roots_is_refused(app, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDCORE_DATA_ROOTS", str(tmp_path / "allowed"))
    open_page(app, "dataset")
    app.sidebar.radio[0].set_value("A folder on this machine").run()
    app.sidebar.text_input[0].set_value(str(tmp_path / "allowed" / ".." / "runs")).run()
    assert not app.exception
    assert "outside the folders this server may open" in texts(app.error)


def test_missing_folder_says_what_to_do(app, tmp_path):
    open_page(app, "dataset")
    app.sidebar.radio[0].set_value("A folder on this machine").run()
    assert not app.error and "Type the path of a dataset folder" in texts(app.info)
    app.sidebar.text_input[0].set_value(str(tmp_path / "nowhere")).run()
    assert "does not exist" in texts(app.error)


def test_train_lists_runs_and_activates_one(app, runs_dir, world):
    open_page(app, "train")
    assert world.run.name in texts(app.markdown)
    other = runs_dir / "another"
    shutil.copytree(world.run, other)
    open_page(app, "train")
    buttons = [b for b in app.button if b.label == "Make active" and not b.disabled]
    assert len(buttons) == 1  # the active run's button is disabled
    buttons[0].click().run()
    assert runs.active_model(runs_dir) == other.resolve()


def test_train_empty_state(app, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDCORE_RUNS", str(tmp_path / "empty-runs"))
    open_page(app, "train")
    assert "No runs yet" in texts(app.info)


def test_train_starts_in_the_background_and_refuses_a_duplicate(app, runs_dir, world):
    open_page(app, "train")
    next(r for r in app.radio if r.label == "Backbone weights").set_value("none")
    # The tiny world's sampler and split: its store has these features, the run only trains.
    next(n for n in app.number_input if n.label.startswith("Frames per clip")).set_value(
        app_world.FRAMES)
    next(n for n in app.number_input if n.label.startswith("Epochs")).set_value(2)
    next(s for s in app.slider if s.label.startswith("Validation")).set_value(0.34)
    next(b for b in app.button if b.label == "Start training").click().run()
    assert not app.error, texts(app.error)
    started = [p for p in runs_dir.iterdir() if (p / launch.LAUNCH).exists()]
    assert len(started) == 1
    next(b for b in app.button if b.label == "Start training").click().run()
    assert "already running" in texts(app.error)
    deadline = time.monotonic() + 240
    while launch.run_state(started[0])["state"] in ("starting", "running"):
        assert time.monotonic() < deadline, launch.log_tail(started[0])
        time.sleep(0.2)
    assert launch.run_state(started[0])["state"] == "finished", launch.log_tail(started[0])
    app.run()  # the watched run is over: curves and the outcome are shown
    assert app.get("plotly_chart")
    assert "best validation accuracy" in texts(app.success)


def test_evaluate_scores_then_lists_the_clips_of_a_cell(app):
    open_page(app, "evaluate")
    assert "not been evaluated yet" in texts(app.info)
    next(b for b in app.button if b.label == "Evaluate on the test clips").click().run()
    assert not app.exception and not app.error, texts(app.error)
    labels = [m.label for m in app.metric]
    assert labels.count("Top-1") == 3  # temporal head, mode vote, mean probability
    cell_box = next(s for s in app.selectbox if s.label.startswith("Clips of one cell"))
    true, predicted, count = cell_box.value
    # the cell's clips: the table after the most-confused pairs with a confidence column
    clips = next(d.value for d in app.dataframe if "confidence" in d.value.columns)
    assert len(clips) == count
    assert set(clips["predicted"]) == {predicted}
    assert all(path.startswith(f"{true}/") for path in clips["clip"])
    media.PREVIEWS.wait_idle(60)  # converted in the background: the next run shows it
    assert app.run().get("video")  # one clip of the cell plays


def test_predict_a_test_clip_shows_the_voted_class(app, world):
    open_page(app, "predict")
    app.radio(key="predict-source").set_value("A test clip of the dataset").run()
    assert not app.exception and not app.error, texts(app.error)
    answers = {m.label.split(" (")[0]: m.value for m in app.metric}
    assert answers["Mode vote"] in world.classes
    assert answers["Temporal head"] in world.classes
    clip = app.selectbox(key="predict-clip").value  # "<class>/<file>": its true class
    said = next(m.value for m in app.metric if "(this model's answer)" in m.label)
    verdict = "right" if said == clip.split("/")[0] else f"wrong: the model said {said}"
    assert f"True class: **{clip.split('/')[0]}**" in texts(app.markdown)
    assert verdict in texts(app.markdown)
    assert sum(len(i.captions) for i in app.image) == app_world.FRAMES  # one per frame
    assert app.get("download_button")
    assert "sampled" not in texts(app.info)  # uniform sampling: no frame cap to mention


def test_a_model_trained_since_is_offered_under_its_dataset_and_classes(app, world,
                                                                       runs_dir):
    open_page(app, "predict")
    box = app.selectbox(key=state.RUN_CHOICE)
    assert box.value == str(runs.active_model(runs_dir))
    new = runs_dir / f"29991231-235959-{world.dataset.name}-fast"  # the newest run
    shutil.copytree(world.run, new)
    for page in ("evaluate", "predict"):  # both pages open on it, in this session
        open_page(app, page)
        box = app.selectbox(key=state.RUN_CHOICE)
        assert box.value == str(new), page
    label = box.options[box.index]  # the world's dataset is the app's demo dataset
    assert label.startswith(f"Demo dataset · {len(world.classes)} classes · "), label
    assert label.endswith("31 Dec 23:59"), label


def test_predict_says_when_the_frame_cap_applies(app, world, runs_dir):
    capped = runs_dir / "capped"
    shutil.copytree(world.run, capped)
    config = json.loads((capped / runs.CONFIG).read_text())
    config["sampler"] = {"name": "fps", "rate": 5.0, "max_frames": 3}
    (capped / runs.CONFIG).write_text(json.dumps(config))
    runs.set_active_model(capped, root=runs_dir)
    open_page(app, "predict")
    app.radio(key="predict-source").set_value("A test clip of the dataset").run()
    assert not app.exception and not app.error, texts(app.error)
    # The test clips last 2 s: 10 frames at 5 per second, of which the cap keeps 3.
    assert "Sampled 3 of the 10 frames that 5 per second would give" in texts(app.info)
    assert sum(len(i.captions) for i in app.image) == 3


def test_predict_an_upload(app, world, tmp_path):
    open_page(app, "predict")
    clip = write_video(tmp_path / "my clip.avi", 40, size=(160, 120))
    app.file_uploader[0].set_value(("my clip.avi", clip.read_bytes(), "video/x-msvideo")).run()
    assert not app.exception and not app.error, texts(app.error)
    assert {m.label.split(" (")[0]: m.value for m in app.metric}["Mode vote"] in world.classes


def test_predict_a_corrupt_upload_says_what_to_do(app):
    open_page(app, "predict")
    app.file_uploader[0].set_value(("broken.mp4", b"not a video" * 100, "video/mp4")).run()
    assert not app.exception
    message = texts(app.error)
    assert "Reading the uploaded video failed" in message and "broken.mp4" in message
    assert "convert it to H.264 MP4" in message


def test_pages_without_any_model_point_to_train(app, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDCORE_RUNS", str(tmp_path / "no-runs"))
    monkeypatch.setattr(runs, "DEMO_MODEL_DIR", tmp_path / "no-demo-model")
    for page in ("evaluate", "predict"):
        open_page(app, page)
        assert "no trained model yet" in texts(app.info)


def test_stop_ends_a_run_even_while_it_starts(app, runs_dir):
    open_page(app, "train")
    next(r for r in app.radio if r.label == "Backbone weights").set_value("none")
    next(n for n in app.number_input if n.label.startswith("Epochs")).set_value(300)
    next(s for s in app.slider if s.label.startswith("Validation")).set_value(0.34)
    next(b for b in app.button if b.label == "Start training").click().run()
    run_dir = next(p for p in runs_dir.iterdir() if (p / launch.LAUNCH).exists())
    next(b for b in app.button if b.label == "Stop").click().run()  # at once: still starting
    assert not app.error, texts(app.error)
    deadline = time.monotonic() + 240
    while launch.run_state(run_dir)["state"] in ("starting", "running"):
        assert time.monotonic() < deadline, launch.log_tail(run_dir)
        time.sleep(0.2)
    assert launch.run_state(run_dir)["state"] == "stopped", launch.log_tail(run_dir)


def test_a_folder_per_class_is_detected_and_split_by_groups(app, tmp_path):
    for cls in ("Clap", "Wave"):
        for g in range(1, 5):
            write_video(tmp_path / "mine" / cls / f"{cls}_g{g:02d}_c01.avi", 10)
    open_page(app, "dataset")
    app.sidebar.radio[0].set_value("A folder on this machine").run()
    app.sidebar.text_input[0].set_value(str(tmp_path / "mine")).run()
    assert not app.exception and not app.error, texts(app.error)
    assert {m.label: m.value for m in app.metric}["Videos"] == "8"
    assert "format **folders**" in texts(app.caption)
    assert "No group is on both sides" in texts(app.success)


def test_train_states_the_fine_tuning_cost_before_start(app):
    import re

    open_page(app, "train")
    assert "Fine-tuning" not in texts(app.caption)  # the default preset trains no backbone
    preset = next(s for s in app.selectbox if s.label == "Preset")
    preset.set_value("finetune").run()
    assert not app.exception, app.exception
    said = re.search(r"Fine-tuning (\d+) training clips\. Expected: about .+ an epoch, .+ in all",
                     texts(app.caption))
    assert said and int(said.group(1)) > 0, texts(app.caption)
