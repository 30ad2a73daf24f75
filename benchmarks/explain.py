"""What an explanation costs next to the prediction it explains, in one run.

On demo-renderer clips (8 uniform frames, the shipped demo model): the prediction with
a loaded model (fast path: folded, bfloat16 where the CPU has it), building the
``Explainer`` (the float32 backbone+head graph, once per model), its first call (the
trace), then warm explanations split into Grad-CAM and leave-one-frame-out. Prints
medians of R rounds and the ratios to the prediction, with the CPU flags and threads.
Not a test: on a shared machine only the ratios of one run count.

    .venv/bin/python benchmarks/explain.py [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vidcore import explain  # noqa: E402
from vidcore.data import demo  # noqa: E402
from vidcore.data.video import resize_frame  # noqa: E402
from vidcore.features import VideoFeatures  # noqa: E402
from vidcore.models.cpu import cpu_flags  # noqa: E402
from vidcore.predict import load_model  # noqa: E402
from vidcore.runs import DEMO_MODEL_DIR  # noqa: E402

CLIPS = [("Kick", 9), ("Punch", 2), ("SitDown", 9)]
FRAMES = 8


def timed(fn, rounds: int) -> tuple[float, object]:
    """Median seconds of ``rounds`` calls, and the last result."""
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv=None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    model = load_model(DEMO_MODEL_DIR)
    runner = model.backbone()
    clips = []
    for name, group in CLIPS:
        clip = demo.render_clip(name, group, 1, size="tiny")
        ids = np.linspace(0, len(clip) - 1, FRAMES).round().astype(int)
        clips.append((clip[ids], ids))

    def predict(images, ids):
        small = np.stack([resize_frame(im, (224, 224)) for im in images])
        feats = VideoFeatures(runner(small).astype(np.float16), ids / 25.0, ids)
        return feats, model.predict_features(feats)

    predict(*clips[0])  # warm the fast path
    start = time.perf_counter()
    explainer = explain.Explainer(model)
    build = time.perf_counter() - start
    feats0 = predict(*clips[0])[0]
    first, _ = timed(lambda: explainer.explain(clips[0][0], feats0), 1)
    rows = {"predict": [], "explain": [], "grad-cam": [], "leave-one-out": []}
    for images, ids in clips:
        t, (feats, out) = timed(lambda images=images, ids=ids: predict(images, ids), args.rounds)
        rows["predict"].append(t)
        label = int(np.argmax(out.clip_probs))
        rows["explain"].append(timed(lambda i=images, f=feats: explainer.explain(i, f),
                                     args.rounds)[0])
        rows["grad-cam"].append(timed(lambda i=images, lb=label: explainer.heatmaps(i, lb),
                                      args.rounds)[0])
        rows["leave-one-out"].append(timed(
            lambda f=feats, lb=label: explain.contributions(model, f, lb), args.rounds)[0])
    base = statistics.median(rows["predict"])
    print(f"CPU flags: {' '.join(cpu_flags())}; {os.cpu_count()} logical CPUs; {FRAMES} frames "
          f"a clip ({len(CLIPS)} clips x {args.rounds} rounds, medians)")
    print(f"  build the explainer (float32 graph, once per model)  {build:6.2f} s")
    print(f"  first explanation (traces the graph)                 {first:6.2f} s")
    for name, values in rows.items():
        t = statistics.median(values)
        print(f"  {name:<14} {t * 1000:8.1f} ms   {t / base:5.1f}x the prediction")
    return 0


if __name__ == "__main__":
    sys.exit(main())
