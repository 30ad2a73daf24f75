"""N browser sessions uploading a clip on Predict at once: how long until each verdict?

    .venv/bin/python benchmarks/concurrent_predict.py [--sessions 4] [--rounds 2] [--clips DIR]

A fresh server of this checkout (its runs, its demo model), then N headless Chromium
sessions open Predict at once and each uploads a different clip (the real UCF101 clips
of ../shared/data/ucf101-dev when present, else the demo dataset's). Per session: the
seconds from the server start until the uploader shows, from the upload until the
answer cards name a class (the verdict), and until the preview plays (a <video> with a
frame size). Round 1 meets a cold server, later rounds upload other clips to the warm
one. Prints medians and maxima per round, the load average and the CPU flags (issue 28
item 10, docs/speed.md). The figures are this machine's, with whatever else runs on it:
compare runs made one after the other, never absolute values.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.web import chromium, new_page, serve  # noqa: E402
from vidcore.models.cpu import flags_line  # noqa: E402

CARDS = '.st-key-answers [data-testid="stMetricValue"]'
UPLOADER = 'input[type="file"]'
PLAYING = ("() => [...document.querySelectorAll('video')].some(v => v.readyState >= 1"
           " && v.videoWidth > 0)")


def pick_clips(folder: Path, count: int, out: Path) -> list[Path]:
    """``count`` clips, of as many classes as there are, copied under user-like names."""
    by_class: dict[str, list[Path]] = {}
    for clip in sorted(folder.rglob("*.avi")):
        by_class.setdefault(clip.parent.name, []).append(clip)
    if not by_class:
        raise SystemExit(f"no .avi clips under {folder}: pass --clips DIR")
    order = [clips[i] for i in range(max(map(len, by_class.values())))
             for clips in by_class.values() if i < len(clips)]
    chosen = []
    for n, clip in enumerate(order[:count]):
        chosen.append(out / f"my clip {n:02d}{clip.suffix}")
        shutil.copy(clip, chosen[-1])
    return chosen


def one_round(pages: list, clips: list[Path]) -> list[dict]:
    """Upload one clip per page at once; poll every page until its verdict and video."""
    starts = []
    for page, clip in zip(pages, clips, strict=True):
        page.locator(UPLOADER).set_input_files(str(clip))
        starts.append(time.monotonic())
    rows = [{} for _ in pages]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not all("video_s" in r for r in rows):
        for page, row, start in zip(pages, rows, starts, strict=True):
            if "verdict_s" not in row and page.locator(CARDS).count():
                row["verdict_s"] = time.monotonic() - start
            if "verdict_s" in row and "video_s" not in row and page.evaluate(PLAYING):
                row["video_s"] = time.monotonic() - start
        pages[0].wait_for_timeout(100)
    return rows


def spread(rows: list[dict], key: str) -> str:
    values = [r[key] for r in rows if key in r]
    if not values:
        return "none"
    return f"median {statistics.median(values):.1f} s, max {max(values):.1f} s ({len(values)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clips", type=Path, default=None)
    args = ap.parse_args()
    shared = REPO.parent / "shared" / "data" / "ucf101-dev"
    folder = args.clips or (shared if shared.is_dir() else REPO / "data" / "demo" / "UCF-101")
    print(f"CPU: {flags_line()}, {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}; "
          f"{args.sessions} sessions, clips from {folder}", flush=True)
    with tempfile.TemporaryDirectory(prefix="vidcore-concurrent-") as tmp:
        clips = pick_clips(folder, args.sessions * args.rounds, Path(tmp))
        with serve({}, Path(tmp) / "server.log") as server, chromium() as browser:
            up = time.monotonic()
            pages = [new_page(browser, 1300, 900, 600_000) for _ in range(args.sessions)]
            for page in pages:
                page.goto(f"{server.url}/predict", wait_until="commit")
            shown = []
            for page in pages:
                page.locator(UPLOADER).wait_for(state="attached")
                shown.append(time.monotonic() - up)
            print(f"uploader shown after {min(shown):.1f}-{max(shown):.1f} s", flush=True)
            for n in range(args.rounds):
                if n:  # a clean page: the next upload replaces nothing
                    for page in pages:
                        page.goto(f"{server.url}/predict", wait_until="commit")
                        page.locator(UPLOADER).wait_for(state="attached")
                rows = one_round(pages, clips[n * args.sessions:(n + 1) * args.sessions])
                print(f"round {n + 1} ({'cold' if n == 0 else 'warm'} server): verdict "
                      f"{spread(rows, 'verdict_s')}; preview playing {spread(rows, 'video_s')}; "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
