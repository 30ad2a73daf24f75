"""The Dataset page's map in Chromium on the tiny demo: a click on a point plays that
clip with its sampled frames. The map job is written by hand (tests/map_results.py):
this test is about the page, test_map_jobs.py about making the map."""

from __future__ import annotations

import pytest

from tests.map_browser import click_point
from tests.map_results import write_finished_job
from tests.web import EXCEPTION, open_page, wait_idle
from vidcore.data.index import load_index
from vidcore.data.sampling import UniformSampler
from vidcore.views import map_view


@pytest.fixture(scope="module")
def mapped(tiny_demo, serve_app, tmp_path_factory):
    root = tmp_path_factory.mktemp("map-browser")
    env = {"VIDCORE_DEMO_DIR": str(tiny_demo), "VIDCORE_RUNS": str(root / "runs"),
           "VIDCORE_STORE": str(root / "features"), "VIDCORE_HOME": str(root / "ws")}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        index = load_index(tiny_demo / "UCF-101")
        write_finished_job(index, map_view.map_spec(UniformSampler(8)), root / "features")
    return serve_app(env), index


def test_a_click_on_the_map_plays_the_clip_with_its_frames(page, mapped):
    server, index = mapped
    open_page(page, server.url, "dataset")
    assert page.locator(EXCEPTION).count() == 0
    clip = index.records[57].path  # not the first clip, which "Look at one clip" shows
    strips = page.get_by_text("Sampled frames").count()
    click_point(page, clip)
    page.get_by_text(clip, exact=True).wait_for()
    wait_idle(page)
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("Sampled frames").count() == strips + 1
    page.locator("video").nth(1).wait_for(state="attached", timeout=60_000)
