"""The Live page and the Predict page's timeline, headless with Streamlit's AppTest.

The world: the tiny demo dataset (one of its test clips replaced by a 9.6 s clip of two
actions, longer than the model's 3 s window) and no trained run, so the pages use the
shipped demo model.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.apptest import APP, open_page, start_app
from tests.workspace_clips import action, write_clip

pytestmark = pytest.mark.slow
LONG = "Kick/v_Kick_g01_c01.avi"  # a split-1 test clip, replaced by the long one


@pytest.fixture(scope="module")
def world(tiny_demo, tmp_path_factory):
    """A copy of the tiny demo whose clip LONG is 9.6 s: JumpingJack, then Punch."""
    root = tmp_path_factory.mktemp("live-app")
    shutil.copytree(tiny_demo, root / "demo")
    frames = np.concatenate([action("JumpingJack", 5.2), action("Punch", 4.4)])
    write_clip(root / "demo" / "UCF-101" / LONG, frames, size=None, fourcc="XVID")
    return root


@pytest.fixture
def app(world, monkeypatch, tmp_path):
    env = {"VIDCORE_DEMO_DIR": world / "demo", "VIDCORE_RUNS": tmp_path / "runs",
           "VIDCORE_STORE": tmp_path / "store", "VIDCORE_ICE_SERVERS": None}
    return start_app(monkeypatch, env, timeout=180)


def test_live_page_says_what_is_wrong_with_the_ice_setting(app, monkeypatch):
    monkeypatch.setenv("VIDCORE_ICE_SERVERS", "stun:example.org")
    # The camera component itself cannot run under AppTest (it needs a live server
    # session): the page up to it is checked here, the rest in test_live_browser.py.
    at = open_page(app, "live")
    assert at.title[0].value == "Live"
    assert "last 3 s as 8 frames" in " ".join(c.value for c in at.caption)
    assert "VIDCORE_ICE_SERVERS is not valid JSON" in at.error[0].value


def test_predict_shows_the_timeline_of_a_long_clip_and_plays_from_a_segment(app):
    at = open_page(app, "predict")
    at.radio(key="predict-source").set_value("A test clip of the dataset").run()
    at.selectbox(key="predict-clip").set_value(LONG).run()
    assert not at.exception, at.exception
    assert "Timeline" in [h.value for h in at.subheader]
    pick = at.selectbox(key="timeline-pick")
    assert [o.split(" · ")[1].split(" (")[0] for o in pick.options] == ["JumpingJack", "Punch"]
    start = float(pick.options[1].split("–")[0])
    assert abs(start - 5.2) <= 0.5
    pick.set_value(1).run()
    assert not at.exception, at.exception
    video = at.get("video")[0]
    assert video.proto.start_time == int(start)
    at.selectbox(key="predict-clip").set_value("Kick/v_Kick_g02_c01.avi").run()
    assert "Timeline" not in [h.value for h in at.subheader]  # a 2 s clip has none


def test_opening_live_after_predict_does_not_crash_the_server(world, tmp_path):
    # A fresh process without the test suite's early pylibsrtp import: Predict loads
    # TensorFlow, then Live imports aiortc; in that order pylibsrtp used to segfault.
    import os
    import subprocess

    script = ("from streamlit.testing.v1 import AppTest\n"
              f"at = AppTest.from_file({APP!r}, default_timeout=180)\n"
              "at.run()\n"
              "at.switch_page('app_pages/predict.py').run()\n"
              "at.switch_page('app_pages/live.py').run()\n"
              "print('titles', [t.value for t in at.title])\n")
    env = {**os.environ, "VIDCORE_DEMO_DIR": str(world / "demo"),
           "VIDCORE_RUNS": str(tmp_path / "runs"), "VIDCORE_STORE": str(tmp_path / "store")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=400, cwd=Path(APP).parent)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "titles ['Live']" in done.stdout
