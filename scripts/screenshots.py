"""Regenerate the README screenshots: start the app, open every page in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--dataset DIR]

Uses Debian's /usr/bin/chromium (never a Playwright browser download). The server
runs on a free port with the demo dataset and the shipped demo model; runs and the
feature store go to a temporary folder, so the screenshots never show your own runs.
Server, browser and page helpers: tests/web.py (the browser tests use the same).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make vidcore importable without installing
    sys.path.insert(0, str(REPO))

from tests.web import chromium, new_page, open_page, serve, shoot, wait_idle  # noqa: E402


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
    with tempfile.TemporaryDirectory(prefix="vidcore-shots-") as tmp, \
            serve(demo_env(dataset, Path(tmp) / "runs"), Path(tmp) / "server.log") as server, \
            chromium() as browser:
        page = new_page(browser)
        for name in ("home", "dataset", "evaluate"):
            open_page(page, server.url, name)
            print(shoot(page, out / f"{name}.png"))
        shoot_predict(page, server.url, out / "predict.png")
        shoot_train(page, server.url, out / "train.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
