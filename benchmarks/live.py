"""The streaming classifier's speed: a live camera in real time, and a 10-minute file.

1. Live: a demo clip is offered to ``LiveStream`` at its real rate (25 fps, as a camera
   would deliver it) for ``--seconds``; prints the kept frames/s the model sustained
   against the rate its window needs, the arrival-to-label delay (median, 90th
   percentile) and the frames dropped. Target: the model's rate with the delay < 0.5 s.
2. Timeline: a 10-minute 320x240 XviD clip (demo actions looped) through
   ``vidcore.timeline``; prints wall time, frames embedded against frames in the file,
   and peak memory growth, so the cost bound (only grid frames are converted and
   embedded, the file read in chunks) can be checked.

    .venv/bin/python benchmarks/live.py [--seconds 20] [--minutes 10] [--skip-timeline]

Figures depend on the machine (CPU flags, other load): quote them with it.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from vidcore.data.demo import DEMO_CLASSES, FPS, HEIGHT, WIDTH, render_clip  # noqa: E402
from vidcore.models.cpu import flags_line  # noqa: E402
from vidcore.predict import load_model  # noqa: E402
from vidcore.runs import DEMO_MODEL_DIR  # noqa: E402
from vidcore.stream import StreamClassifier  # noqa: E402
from vidcore.timeline import timeline  # noqa: E402
from vidcore.views.live_feed import LiveStream  # noqa: E402


def live(model, seconds: float) -> None:
    """Offer a clip at 25 fps in real time; report sustained rate, delay and drops."""
    clf = StreamClassifier(model, smoothing=0.5)
    clf.warm_up()
    stream = LiveStream(clf)
    frames = render_clip("JumpingJack", 3, 1)
    start = time.monotonic()
    i = 0
    while (now := time.monotonic() - start) < seconds:
        stream.offer(frames[i % len(frames)], now)
        i += 1
        time.sleep(max(0.0, i / FPS - (time.monotonic() - start)))
    stream.stop()
    stats, delays = stream.stats(), np.array(stream.delays)
    need = clf.plan.rate
    got = stats.processed / seconds
    print(f"live: {stats.offered} frames offered at {FPS} fps over {seconds:g} s; the window "
          f"needs {need:.2f} frames/s; processed {got:.2f} frames/s ({got / need:.2f}x the "
          f"need), dropped {stats.dropped} of {stats.kept} kept")
    if len(delays):
        print(f"live: arrival-to-label delay median {np.median(delays):.3f} s, "
              f"p90 {np.percentile(delays, 90):.3f} s, max {delays.max():.3f} s "
              f"({len(delays)} labels; target < 0.5 s)")


def long_clip(path: Path, minutes: float) -> Path:
    """A clip of ``minutes`` made of demo clips of every class in turn, XviD like the demo."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"XVID"), FPS, (WIDTH, HEIGHT))
    clips = [render_clip(c, 3, 1) for c in DEMO_CLASSES]
    need, written, k = round(minutes * 60 * FPS), 0, 0
    while written < need:
        for rgb in clips[k % len(clips)][: need - written]:
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            written += 1
        k += 1
    writer.release()
    return path


def file_timeline(model, minutes: float) -> None:
    """Time the timeline of a long clip and count what it decoded and embedded."""
    with tempfile.TemporaryDirectory() as tmp:
        path = long_clip(Path(tmp) / "long.avi", minutes)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        tl = timeline(model, path)
        wall = time.perf_counter() - start
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    frames = round(minutes * 60 * FPS)
    embedded = len(tl.steps) + tl.plan.frames - 1
    print(f"timeline: {minutes:g} min clip ({frames} frames): {wall:.1f} s wall "
          f"({wall / minutes:.1f} s per video minute), {embedded} frames embedded "
          f"({embedded / frames:.1%} of the file), {len(tl.steps)} steps, "
          f"{len(tl.segments)} segments; peak memory grew {(rss1 - rss0) / 1024:.0f} MB")


def main() -> None:
    """Run both measurements and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--skip-timeline", action="store_true")
    args = parser.parse_args()
    print(f"CPU flags: {flags_line()}")
    model = load_model(DEMO_MODEL_DIR)
    live(model, args.seconds)
    if not args.skip_timeline:
        file_timeline(model, args.minutes)


if __name__ == "__main__":
    main()
