"""The app's explanations (Predict) and model transfer (Evaluate, Predict), with AppTest
on the tiny world (a temporal head on a randomly initialised backbone, 4 frames): the
``app`` and ``runs_dir`` fixtures of tests/conftest.py."""

from __future__ import annotations

import io
import re
import zipfile

from streamlit.testing.v1 import AppTest

from tests import app_world
from tests.apptest import open_page, texts
from tests.videos import write_video
from vidcore import export, runs
from webapp import state


def ui_run_choice() -> str:

    return state.RUN_CHOICE


def captions(at: AppTest) -> list[str]:
    return [c for image in at.image for c in image.captions]


def test_predict_shows_heatmap_overlays_ranked_by_contribution(app, world):
    open_page(app, "predict")
    app.radio(key="predict-source").set_value("A test clip of the dataset").run()
    plain = captions(app)
    assert len(plain) == app_world.FRAMES and not any(" · #" in c for c in plain)
    app.toggle(key="explain-on").set_value(True).run()
    assert not app.exception and not app.error, texts(app.error)
    marked = captions(app)
    assert len(marked) == app_world.FRAMES  # the overlays replace the plain frames
    ranks = [re.fullmatch(r"[\d.]+ s · #(\d+) · [+-]\d+%", c) for c in marked]
    assert all(ranks), marked
    assert sorted(int(r[1]) for r in ranks) == list(range(1, app_world.FRAMES + 1))
    answer = app.selectbox(key="explain-class").value
    assert answer in world.classes and f"evidence for **{answer}**" in texts(app.caption)
    other = next(c for c in world.classes if c != answer)
    app.selectbox(key="explain-class").set_value(other).run()
    app.slider(key="explain-opacity").set_value(0.2).run()
    assert not app.exception and not app.error, texts(app.error)
    assert f"evidence for **{other}**" in texts(app.caption)
    assert len(captions(app)) == app_world.FRAMES


def own_answer(at: AppTest) -> str:
    return next(m.value for m in at.metric if "(this model's answer)" in m.label)


def test_predict_explains_an_upload_too_and_follows_a_second_one(app, world, tmp_path):
    open_page(app, "predict")
    clip = write_video(tmp_path / "my clip.avi", 40, size=(160, 120))
    app.file_uploader[0].set_value(("my clip.avi", clip.read_bytes(), "video/x-msvideo")).run()
    app.toggle(key="explain-on").set_value(True).run()
    assert not app.exception and not app.error, texts(app.error)
    marked = captions(app)
    assert len(marked) == app_world.FRAMES
    if "not ranked" not in texts(app.caption):  # else no frame moves the score: no ranks
        assert all(" · #" in c for c in marked), marked
    other = next(c for c in world.classes if c != own_answer(app))
    app.selectbox(key="explain-class").set_value(other).run()
    # A second upload (issue 28): the panel explains the new clip's own answer.
    second = next(world.dataset.glob("*/*.avi")).read_bytes()
    app.file_uploader[0].set_value(("second.avi", second, "video/x-msvideo")).run()
    assert not app.exception and not app.error, texts(app.error)
    answer = own_answer(app)
    assert app.selectbox(key="explain-class").value == answer
    assert f"evidence for **{answer}**" in texts(app.caption)


def test_predict_and_evaluate_offer_each_export_format(app):
    for page in ("predict", "evaluate"):
        open_page(app, page)
        if page == "predict":
            app.radio(key="predict-source").set_value("A test clip of the dataset").run()
        keys = {b.proto.id for b in app.get("download_button")}
        assert not app.error, texts(app.error)
        assert all(any(f"export-{fmt}" in k for k in keys) for fmt in export.FORMATS), keys


def test_evaluate_upload_of_a_bundle_adds_the_run_and_picks_it(app, world, runs_dir):
    bundle = export.bundle_bytes(world.run)
    open_page(app, "evaluate")
    before = {r["path"] for r in runs.list_runs(runs_dir)}
    app.file_uploader(key="bundle-upload").set_value(("tiny.zip", bundle, "application/zip"))
    app.run()
    assert not app.exception and not app.error, texts(app.error)
    added = {r["path"] for r in runs.list_runs(runs_dir)} - before
    assert len(added) == 1
    assert "Added tiny.zip as run" in texts(app.success)
    assert app.selectbox(key=ui_run_choice()).value == added.pop()


def test_evaluate_refuses_a_hostile_bundle_with_the_reason(app, world, runs_dir):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("../../evil.py", "import os")
    open_page(app, "evaluate")
    app.file_uploader(key="bundle-upload").set_value(("evil.zip", buffer.getvalue(),
                                                      "application/zip")).run()
    assert not app.exception
    message = texts(app.error)
    assert "Importing the bundle failed" in message and "unexpected entry '../../evil.py'" \
        in message
    assert len(runs.list_runs(runs_dir)) == 1
