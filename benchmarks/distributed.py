"""The Ray engine against the local one, on the same clips, in one run.

Each line extracts into a fresh store: ``--engine local``, then the ray engine with
1 and 2 actors on a local Ray instance (started and stopped by each run, so its start
is in the time), then a re-run of the last with everything stored (the fixed cost).
Not a test: timings on a shared machine are noisy, so compare lines of one run only.

    .venv/bin/python benchmarks/distributed.py [DATASET] [--videos N] [--weights W]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extract import dataset_videos  # noqa: E402 (benchmarks/extract.py, beside this file)

from vidcore.distributed import extract_ray  # noqa: E402
from vidcore.features import FeatureSpec, extract  # noqa: E402


def row(name: str, summary) -> dict:
    """One result line: wall seconds (start-up included) and frames/s."""
    return {"engine": name, "videos": summary.videos, "computed": summary.computed,
            "frames": summary.frames, "seconds": round(summary.seconds, 1),
            "frames_per_second": round(summary.frames_per_second, 1),
            "failed": len(summary.failed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", help="dataset root (default: the demo dataset)")
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--weights", default="imagenet", help="imagenet (default) or none")
    args = parser.parse_args()
    os.environ.pop("RAY_ADDRESS", None)  # always a fresh local instance
    weights = None if args.weights.lower() == "none" else args.weights
    spec = FeatureSpec(weights=weights)
    paths = dataset_videos(args.dataset, args.videos)
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(row("local", extract(paths, spec, Path(tmp) / "local"))), flush=True)
        for workers in (1, 2):
            store = Path(tmp) / f"ray{workers}"
            summary = extract_ray(paths, spec, store, num_workers=workers)
            print(json.dumps(row(f"ray x{workers}", summary)), flush=True)
        again = extract_ray(paths, spec, store, num_workers=2)
        print(json.dumps(row("ray x2, all stored", again)), flush=True)


if __name__ == "__main__":
    main()
