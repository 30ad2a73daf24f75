"""The app at 101 classes (UCF101's count), headless with AppTest: Evaluate, Dataset, Predict,
and the active run found through a symlinked runs folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scripts.scale_world import make_evaluated_run, make_ucf_tree
from vidcore import runs
from webapp import media, state

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CLASSES, CLIPS = 101, 101 * 30  # 30 clips a class: 9 tested (groups 1-7), 21 trained


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 101-class UCF101 tree, its evaluated run and a second run, in a runs folder that
    the app reaches through a symlink; the first run is the active model."""
    tmp = tmp_path_factory.mktemp("scale")
    dataset = make_ucf_tree(tmp / "data", CLASSES, CLIPS)
    real_runs = tmp / "real-runs"
    run = make_evaluated_run(real_runs, dataset)
    other = real_runs / f"{run.name}-newer"  # listed first: the default without ACTIVE
    shutil.copytree(run, other)
    (tmp / "runs-link").symlink_to(real_runs, target_is_directory=True)
    runs.set_active_model(tmp / "runs-link" / run.name, root=tmp / "runs-link")
    return {"dataset": dataset, "runs": tmp / "runs-link", "run": run, "tmp": tmp}


@pytest.fixture
def app(world, monkeypatch):
    monkeypatch.setenv("VIDCORE_RUNS", str(world["runs"]))
    monkeypatch.setenv("VIDCORE_STORE", str(world["tmp"] / "store"))
    monkeypatch.delenv("VIDCORE_DATA_ROOTS", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[state.DATASET_SOURCE] = state.FOLDER
    at.session_state[state.DATASET_PATH] = str(world["dataset"])
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def heatmap(at: AppTest) -> dict:
    import json

    return json.loads(at.get("plotly_chart")[1].proto.spec)


def test_evaluate_at_101_classes_focuses_on_the_most_confused(app, world):
    open_page(app, "evaluate")
    assert app.selectbox(key=state.RUN_CHOICE).value == str(world["runs"] / world["run"].name)
    assert "★ active" in app.selectbox(key=state.RUN_CHOICE).format_func(
        app.selectbox(key=state.RUN_CHOICE).value)
    assert "20 of 101 classes" in texts(app.caption)
    spec = heatmap(app)
    marks = next(t for t in spec["data"] if t["type"] == "scatter")
    assert len(spec["data"][0]["y"]) == 20 and "texttemplate" in spec["data"][0]
    columns = ["true", "predicted", "clips", "share"]
    pairs = next(d.value for d in app.dataframe if list(d.value.columns) == columns)
    assert len(pairs) == 50
    cell = app.selectbox(key="cell-linear").value  # preselected: a worst mistake
    assert cell[0] != cell[1] and cell[2] == pairs.iloc[0]["clips"]
    assert set(marks["y"]) <= set(spec["data"][0]["y"])
    bars = app.get("plotly_chart")[2].proto.spec
    assert bars.count('"orientation":"h"') == 1 and all(
        name in bars for name in ("ApplyEyeMakeup", "YoYo"))  # every class has its bar


def test_evaluate_full_matrix_and_one_class(app):
    open_page(app, "evaluate")
    app.button_group(key="confusion-focus").set_value("all").run()
    assert not app.exception and "101 of 101 classes" in texts(app.caption)
    spec = heatmap(app)
    assert len(spec["data"][0]["y"]) == 101
    assert "texttemplate" not in spec["data"][0]  # 7-px cells: no numbers
    assert "point at one" in texts(app.caption)
    app.button_group(key="confusion-focus").set_value("class").run()
    app.selectbox(key="confusion-center").set_value("Basketball").run()
    assert not app.exception
    shown = heatmap(app)["data"][0]["y"]
    assert "Basketball" in shown and len(shown) < 101
    app.button_group(key="confusion-focus").set_value("chosen").run()
    app.multiselect(key="confusion-chosen").set_value([]).run()
    assert not app.exception
    assert "choose one or more classes" in texts(app.error)
    assert app.get("plotly_chart")  # the rest of the page is still there


def test_predict_folds_a_long_class_list(app):
    open_page(app, "predict")
    caption = app.caption[0].value
    assert caption.endswith("knows 101 actions.") and "ApplyEyeMakeup" not in caption
    folded = next(e for e in app.expander if e.label == "The 101 actions it knows")
    assert "ApplyEyeMakeup, ApplyLipstick" in texts(folded.caption)


def test_dataset_of_many_clips_finds_one_without_waiting(app):
    open_page(app, "dataset")
    assert f"first 200 of the {CLIPS} matching videos" in texts(app.caption)
    video = next(s for s in app.selectbox if s.label == "Video")
    assert len(video.options) == 200
    app.text_input[0].set_value("YoYo_g08_c01").run()
    video = next(s for s in app.selectbox if s.label == "Video")
    assert video.options == ["YoYo/v_YoYo_g08_c01.avi"]
    assert "Converting the clip" in texts(app.caption) or app.get("video")
    media.PREVIEWS.wait_idle(60)
    assert app.run().get("video")


def test_train_stars_the_active_run_reached_through_a_symlink(app, world):
    open_page(app, "train")
    rows = [m.value for m in app.markdown if world["run"].name in str(m.value)]
    starred = [r for r in rows if "**active**" in r]
    assert len(starred) == 1 and f"**{world['run'].name}**" in starred[0]


def test_same_run_resolves_links(world):
    link = world["runs"] / world["run"].name
    assert runs.same_run(link, world["run"]) and runs.same_run(str(link), str(world["run"]))
    assert not runs.same_run(link, world["run"].parent / f"{world['run'].name}-newer")
    assert not runs.same_run(None, link)
