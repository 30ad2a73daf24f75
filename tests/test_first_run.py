"""A newcomer's first start, `streamlit run app.py` with no demo dataset yet, in Chromium.

Home must generate the demo in a child process with a progress bar, then show it; never
a traceback (the generator's process pool must not run inside the server). Fails, never
skips, under CI=true when Chromium is missing (the ``chromium`` fixture of test_browser).
"""

from __future__ import annotations

import pytest

from scripts.screenshots import (
    free_port,
    launch,
    start_server,
    stop_server,
    wait_healthy,
    wait_idle,
)
from tests.test_browser import EXCEPTION, SHOTS, chromium  # noqa: F401 - a fixture
from vidcore.data import demo

pytestmark = pytest.mark.browser


def test_home_generates_a_missing_demo_dataset(chromium, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    demo_dir = tmp_path / "no-demo-yet"
    env = {"VIDCORE_DEMO_DIR": str(demo_dir), "VIDCORE_DEMO_SIZE": "tiny",
           "VIDCORE_RUNS": str(tmp_path / "runs"), "VIDCORE_STORE": str(tmp_path / "store")}
    port, log = free_port(), tmp_path / "server.log"
    proc = start_server(env, port, log)
    try:
        wait_healthy(port, proc)
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text("Generating the demo dataset").wait_for(timeout=60_000)
            page.screenshot(path=str(SHOTS.parent / "first-run-progress.png"))
            wait_idle(page, timeout_ms=240_000)
            page.screenshot(path=str(SHOTS.parent / "first-run-home.png"))
            assert page.locator(EXCEPTION).count() == 0
            text = page.inner_text("body")
            browser.close()
    finally:
        stop_server(proc)
    server_log = log.read_text(errors="replace")
    assert "Traceback" not in server_log and "BrokenProcessPool" not in server_log, server_log
    assert "failed" not in text, text
    assert "100 videos" in text, text  # the Dataset card counts the generated clips
    assert demo.generation_state(demo_dir, "tiny")["complete"]
