"""The Live page end to end: Chromium's fake camera plays a demo clip, the page names it.

Everything runs inside a private network namespace (``unshare -n``): the Streamlit
server, Chromium and WebRTC between them, so no packet leaves this machine. aiortc's
ICE skips 127.0.0.1, so the namespace's loopback also gets 127.0.0.2. The test re-runs
itself in the namespace (``unshare -n -p -f --kill-child``: the inner pytest is the
first process of its own PID namespace, so server and browser die with it however it
ends); ``make test`` needs nothing extra. It needs root, unshare and Debian's
/usr/bin/chromium: without them it skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from scripts.screenshots import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    shoot,
    start_server,
    stop_server,
    wait_healthy,
    wait_idle,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "test-output" / "screenshots"
INSIDE = "VIDCORE_LIVE_NETNS"  # set in the namespace
CLASS = "JumpingJack"  # what the fake camera shows
IFRAME = 'iframe[title="streamlit_webrtc.component.webrtc_streamer"]'
EXCEPTION = '[data-testid="stException"]'
LABEL_TIMEOUT_MS = 150_000  # first label 6-10 s after Start on 2 busy cores; generous


def write_y4m(path: Path, frames: np.ndarray, fps: int = 25) -> Path:
    """RGB frames as YUV4MPEG2 (4:2:0), the format Chromium's fake camera plays (looped)."""
    h, w = frames.shape[1:3]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (install Debian's chromium: make browser)"
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "unshare or ip (util-linux, iproute2) is missing"
    if os.geteuid() != 0:
        return "a private network namespace (unshare -n) needs root"
    return None


def test_live_page_names_what_the_camera_sees():
    if os.environ.get(INSIDE) == "1":
        return _inside()
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    inner = (f"ip link set lo up && ip addr add 127.0.0.2/8 dev lo && exec {sys.executable} "
             f"-m pytest -q -x -p no:cacheprovider {Path(__file__).relative_to(REPO)}")
    env = {**os.environ, INSIDE: "1"}
    done = subprocess.run(["unshare", "-n", "-p", "-f", "--kill-child", "bash", "-c", inner],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=420)
    print(done.stdout[-6000:], done.stderr[-3000:])
    assert done.returncode == 0, "the test failed inside its network namespace (output above)"


def _inside() -> None:
    from playwright.sync_api import sync_playwright

    from vidcore.data.demo import generate_demo_dataset, render_clip

    tmp = Path(tempfile.mkdtemp(prefix="vidcore-live-test-"))
    clip = np.concatenate([render_clip(CLASS, 3, c) for c in (1, 2, 3)])
    camera = write_y4m(tmp / "camera.y4m", clip)
    generate_demo_dataset(tmp / "demo", size="tiny")  # the sidebar wants a dataset
    env = {"VIDCORE_DEMO_DIR": str(tmp / "demo"), "VIDCORE_RUNS": str(tmp / "runs"),
           "VIDCORE_STORE": str(tmp / "store"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    port, log = free_port(), tmp / "server.log"
    proc = start_server(env, port, log)
    try:
        wait_healthy(port, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={camera}",
                "--allow-loopback-in-peer-connection"])
            # Tall enough for the whole page, so the screenshot needs no resize mid-stream.
            page = browser.new_page(viewport={"width": 1400, "height": 1750})
            page.set_default_timeout(120_000)
            try:
                _drive(page, f"http://127.0.0.1:{port}/live")
            except Exception:
                shoot(page, SHOTS / "live-failed.png")  # what the page showed, for the log
                raise
            finally:
                browser.close()
    finally:
        stop_server(proc)
        text = log.read_text(errors="replace")
        print(text[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)
    assert "Traceback" not in text


def _drive(page, url: str) -> None:
    page.goto(url)
    wait_idle(page)
    assert page.get_by_text("and allow the camera").count() == 1
    camera = page.frame_locator(IFRAME)
    camera.get_by_role("button", name="Start").click()
    label = page.locator(".st-key-live-label h1")
    label.wait_for(timeout=LABEL_TIMEOUT_MS)
    page.wait_for_function(
        "c => { const h = document.querySelector('.st-key-live-label h1');"
        " return h && h.innerText.trim() === c; }", arg=CLASS, timeout=LABEL_TIMEOUT_MS)
    page.locator(".st-key-live-chart [data-testid='stPlotlyChart']").first.wait_for()
    page.wait_for_function(
        "() => document.querySelectorAll('.st-key-live-frames img').length >= 4")
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("Classifying the camera failed").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "live.png"))
    camera.get_by_role("button", name="Stop").click()
    page.get_by_text("Stopped.").wait_for()
    before = _processed(page)
    time.sleep(3)
    assert _processed(page) == before > 0  # nothing is classified after Stop
    assert page.locator(EXCEPTION).count() == 0


def _processed(page) -> int:
    text = page.locator(".st-key-live-count").inner_text()
    return int(text.split()[0].replace(",", ""))
