"""Regenerate the README screenshots: start the app, open every page in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--dataset tiny|demo]

Uses Debian's /usr/bin/chromium (never a Playwright browser download). The server
runs on a free port with the demo dataset and the shipped demo model; runs and the
feature store go to a temporary folder, so the screenshots never show your own runs.
The helpers here are shared with tests/test_browser.py.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make vidcore importable without installing
    sys.path.insert(0, str(REPO))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = {"home": "", "dataset": "dataset", "datasets": "datasets", "train": "train",
         "evaluate": "evaluate", "predict": "predict", "live": "live"}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    """``streamlit run app.py`` in its own process group, output to ``log_path``."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
           "--server.port", str(port), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process by stop_server
    return subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    """Block until ``/_stcore/health`` answers ok, or raise with the reason."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"streamlit did not become healthy on port {port} in {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    """End the server's process group (training runs it started have their own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 9)
        proc.wait(timeout=5)


def launch(playwright):
    """Debian's headless Chromium through Playwright."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait until the app's script run is over and no spinner is left."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           timeout=timeout_ms)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stSpinner"]')""", timeout=timeout_ms)
    page.wait_for_timeout(800)  # plotly and images finish drawing after the run ends


def shoot(page, path: Path) -> Path:
    """A screenshot of the whole page.

    Streamlit scrolls its main area inside the window, so Playwright's ``full_page``
    sees only one screen: grow the window to the content height instead.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        """() => { const m = document.querySelector('[data-testid="stMain"]');
                   return m ? m.scrollHeight : document.body.scrollHeight; }""")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height + 40)})
    page.wait_for_timeout(600)  # let charts re-lay out to the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def cell_centre(page, area, shown: list[str], true: str, predicted: str) -> tuple[float, float]:
    """Window coordinates of a cell's centre, scrolled into the window first (a 101-class
    matrix is taller than the window, and Streamlit scrolls its main area, not the page)."""
    area.scroll_into_view_if_needed()
    for _ in range(5):
        box, view = area.bounding_box(), page.viewport_size
        x = box["x"] + (shown.index(predicted) + 0.5) * box["width"] / len(shown)
        y = box["y"] + (shown.index(true) + 0.5) * box["height"] / len(shown)
        if 60 < y < view["height"] - 60:
            return x, y
        page.mouse.move(view["width"] / 2, view["height"] / 2)
        page.mouse.wheel(0, y - view["height"] / 2)
        page.wait_for_timeout(300)
    return x, y


def open_page(page, base: str, name: str) -> None:
    """Open one app page by its URL path and wait for it to finish running."""
    page.goto(f"{base}/{PAGES[name]}")
    wait_idle(page)


def demo_env(dataset_dir: Path, runs_dir: Path) -> dict:
    """Environment of a server on a demo dataset with its own runs folder.

    The feature store stays the default one, so features computed before (by
    ``make run`` or the demo model's training) make the screenshot run quick.
    """
    return {"VIDCORE_DEMO_DIR": str(dataset_dir), "VIDCORE_RUNS": str(runs_dir),
            "TF_CPP_MIN_LOG_LEVEL": "2"}


def shoot_train(page, base: str, path: Path) -> None:
    """Start a run with the default preset, shoot its live curves, then stop it."""
    open_page(page, base, "train")
    page.get_by_role("button", name="Start training").click()
    points = ".st-key-live [data-testid='stPlotlyChart'] .scatterlayer .point"
    page.wait_for_function(f"() => document.querySelectorAll(\"{points}\").length >= 6",
                           timeout=300_000)
    print(shoot(page, path))
    page.locator(".st-key-live").get_by_role("button", name="Stop").click()
    page.get_by_text("The run stopped").or_(page.get_by_text("The run finished")).first.wait_for(
        timeout=120_000)


def shoot_predict(page, base: str, path: Path) -> None:
    """Predict a test clip of the demo dataset and shoot the result."""
    open_page(page, base, "predict")
    page.get_by_text("A test clip of the dataset", exact=True).click()
    page.locator(".st-key-answers").wait_for(timeout=120_000)
    wait_idle(page)
    print(shoot(page, path))


def main(argv=None) -> int:
    """Start a server, take one screenshot per page, stop the server."""
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument("--dataset", default=None,
                        help="demo dataset folder (default: data/demo, generated if absent)")
    args = parser.parse_args(argv)
    from vidcore.data.demo import default_demo_dir, ensure_demo_dataset

    dataset = Path(args.dataset) if args.dataset else default_demo_dir()
    if not args.dataset:
        ensure_demo_dataset(dataset)
    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="vidcore-shots-") as tmp:
        port, base = free_port(), ""
        proc = start_server(demo_env(dataset, Path(tmp) / "runs"), port,
                            Path(tmp) / "server.log")
        try:
            wait_healthy(port, proc)
            base = f"http://127.0.0.1:{port}"
            with sync_playwright() as p:
                browser = launch(p)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                for name in ("home", "dataset", "evaluate"):
                    open_page(page, base, name)
                    print(shoot(page, out / f"{name}.png"))
                shoot_predict(page, base, out / "predict.png")
                shoot_train(page, base, out / "train.png")
                browser.close()
        finally:
            stop_server(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
