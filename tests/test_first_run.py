"""A newcomer's first start, `streamlit run app.py` with no demo dataset yet, in Chromium.

Home must generate the demo in a child process with a progress bar, then show it; never
a traceback (the generator's process pool must not run inside the server). Fails, never
skips, under CI=true when Chromium is missing (the ``browser`` fixture of conftest).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web import EXCEPTION, SHOTS, wait_idle
from vidcore.data import demo

pytestmark = pytest.mark.browser


def test_home_generates_a_missing_demo_dataset(serve_app, page, tmp_path):
    demo_dir = tmp_path / "no-demo-yet"
    server = serve_app({"VIDCORE_DEMO_DIR": str(demo_dir), "VIDCORE_DEMO_SIZE": "tiny",
                        "VIDCORE_RUNS": str(tmp_path / "runs"),
                        "VIDCORE_STORE": str(tmp_path / "store")})
    page.goto(f"{server.url}/")
    page.get_by_text("Generating the demo dataset").wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS.parent / "first-run-progress.png"))
    wait_idle(page, timeout_ms=240_000)
    page.screenshot(path=str(SHOTS.parent / "first-run-home.png"))
    assert page.locator(EXCEPTION).count() == 0
    text = page.inner_text("body")
    server_log = server.log_text()
    assert "Traceback" not in server_log and "BrokenProcessPool" not in server_log, server_log
    assert "failed" not in text, text
    assert "100 videos" in text, text  # the Dataset card counts the generated clips
    assert demo.generation_state(demo_dir, "tiny")["complete"]
    # Home converted no weights in the server: TensorFlow there would stay for good and
    # slow every script run, previews first (issue 28). The warm-up's child may have.
    maps = Path(f"/proc/{server.pid}/maps").read_text()
    assert "tensorflow" not in maps, "Home imported TensorFlow into the server"
