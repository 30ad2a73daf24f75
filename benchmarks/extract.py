"""Feature extraction speed and memory, measured side by side in one run.

Prints, on the same clips: the decode-only floor, the backbone-only ceiling (batched
inference on frames already in memory), and the end-to-end pipeline, in frames/s, as
ratios to the ceiling; the peak RSS of the pipeline at N and 10xN videos (each in a
fresh child process, so the peaks are clean); and the batch-size lever.
Not a test: timings on a shared machine are noisy, so only ratios of one run count.

    .venv/bin/python benchmarks/extract.py [DATASET] [--videos N] [--backbone NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vidcore.data.sampling import UniformSampler  # noqa: E402
from vidcore.data.video import read_frames  # noqa: E402
from vidcore.features import FeatureSpec, backbone_runner, extract  # noqa: E402


def dataset_videos(dataset: str | None, count: int) -> list[Path]:
    """``count`` videos of the dataset (the demo dataset by default), spread over classes."""
    from vidcore.data import demo
    from vidcore.data.index import load_index

    root = dataset or demo.ensure_demo_dataset(demo.default_demo_dir())
    index = load_index(root)
    records = sorted(index.records, key=lambda r: (r.group, r.path))
    step = max(1, len(records) // count)
    picked = records[::step][:count]
    if len(picked) < count:
        sys.exit(f"the dataset has only {len(records)} videos; ask for fewer")
    return [index.path_of(r) for r in picked]


def decode_only(paths, spec: FeatureSpec, workers: int = 2) -> tuple[float, list]:
    """Frames/s of decoding + sampling + resizing alone, on the pipeline's threads."""
    from vidcore.models.backbones import get_spec

    size = get_spec(spec.backbone).input_size
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        frames = list(pool.map(lambda p: read_frames(p, spec.sampler, size=(size, size)), paths))
    seconds = time.perf_counter() - start
    return sum(len(f) for f in frames) / seconds, frames


def backbone_only(frames, runner, batch_size: int = 32) -> float:
    """Frames/s of batched inference on frames already in memory."""
    images = np.concatenate([f.images for f in frames])
    runner(images[:batch_size])  # trace once, outside the timing
    start = time.perf_counter()
    for i in range(0, len(images), batch_size):
        runner(images[i:i + batch_size])
    return len(images) / (time.perf_counter() - start)


def end_to_end(paths, spec: FeatureSpec, runner, batch_size: int = 32) -> float:
    """Frames/s of ``vidcore.features.extract`` into a fresh store."""
    with tempfile.TemporaryDirectory() as store:
        summary = extract(paths, spec, store, batch_size=batch_size, model=runner.model)
    return summary.frames_per_second


def peak_rss_child(dataset: str | None, count: int, backbone: str) -> dict:
    """Run the pipeline on ``count`` videos in a child process; return its peak RSS."""
    cmd = [sys.executable, __file__, "--child", str(count), "--backbone", backbone]
    out = subprocess.run(cmd + ([dataset] if dataset else []), capture_output=True, text=True,
                         check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(dataset: str | None, count: int, backbone: str) -> None:
    """Child process body: extract ``count`` videos, print peak RSS and speed as JSON."""
    spec = FeatureSpec(backbone, "imagenet", UniformSampler(8))
    paths = dataset_videos(dataset, count)
    with tempfile.TemporaryDirectory() as store:
        summary = extract(paths, spec, store)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"videos": count, "frames": summary.frames, "peak_rss_mb": round(peak_mb),
                      "frames_per_second": round(summary.frames_per_second, 1)}))


def main() -> None:
    """Parse options, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?")
    parser.add_argument("--videos", type=int, default=40)
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.dataset, args.child, args.backbone)
    spec = FeatureSpec(args.backbone, "imagenet", UniformSampler(8))
    paths = dataset_videos(args.dataset, args.videos)
    runner = backbone_runner(spec)
    floor, frames = decode_only(paths, spec)
    ceiling = backbone_only(frames, runner)
    e2e = end_to_end(paths, spec, runner)
    print(f"{len(paths)} videos, {sum(len(f) for f in frames)} frames, {args.backbone}, "
          f"uniform 8 frames, batch 32, {os.cpu_count()} CPUs")
    print(f"{'stage':28s} {'frames/s':>9s} {'of ceiling':>11s}")
    for name, fps in (("decode-only floor", floor), ("backbone-only ceiling", ceiling),
                      ("end-to-end pipeline", e2e)):
        print(f"{name:28s} {fps:9.1f} {fps / ceiling:10.0%}")
    for batch in (16, 64):
        print(f"{'ceiling at batch ' + str(batch):28s} {backbone_only(frames, runner, batch):9.1f}")
    small, big = (peak_rss_child(args.dataset, n, args.backbone)
                  for n in (args.videos, 10 * args.videos))
    print(f"peak RSS: {small['peak_rss_mb']} MB at {small['videos']} videos, "
          f"{big['peak_rss_mb']} MB at {big['videos']} videos "
          f"(ratio {big['peak_rss_mb'] / small['peak_rss_mb']:.2f})")


if __name__ == "__main__":
    main()
