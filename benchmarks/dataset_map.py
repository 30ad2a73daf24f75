"""The dataset map at UCF101's scale: near-duplicates, map and label issues of 13,320 clips.

Generated clip features (1280-D like EfficientNet-Lite0's, non-negative, mean-pooled,
L2-normalised; 101 classes x 25 recordings, groups 1-7 on the test side as in split 1)
whose similarities resemble ucf101-dev's real ones: median about 0.44 between classes,
0.60 between recordings of a class, 0.91 within a recording (real: 0.45 / 0.55 / 0.88).
Planted: ``COPIES`` test clips copied into training under a recording of their own
(similarity about 0.99, a re-encode's), and ``MISFILED`` clips given another class.

Each stage runs in its own process, so its wall time, CPU time and peak memory are its
own (the shared neighbour graph is cached on disk by the first stage that needs it):

* ``exact`` / ``hnsw``: each clip's 16 nearest neighbours, both ways, and the HNSW
  search's recall of the exact search's pairs above the threshold;
* ``duplicates``: ``near_duplicates`` as the library runs it (exact up to
  ``EXACT_UP_TO`` clips): where the planted copies rank;
* ``map``: ``clip_map`` (UMAP on the cached graph);
* ``issues``: ``label_issues`` (5-fold probe by recording, cleanlab): where the
  misfiled clips rank.

    .venv/bin/python benchmarks/dataset_map.py [--clips 13320] [--stages ...] [--sizes ...]
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
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vidcore.models.cpu import flags_line  # noqa: E402

CLASSES, GROUPS, TEST_GROUPS, DIM = 101, 25, range(1, 8), 1280
COPIES, MISFILED = 20, 30
STAGES = ("exact", "hnsw", "duplicates", "map", "issues")


def generate(n: int, seed: int = 0):
    """Clip features, records and the planted faults (see the module docstring)."""
    from vidcore.data.index import VideoRecord

    rng = np.random.default_rng(seed)
    groups = np.arange(n) * (CLASSES * GROUPS) // n  # recordings of 4-6 clips, in order
    classes = groups // GROUPS
    mean = np.abs(rng.normal(0, 1, DIM))
    centres = rng.normal(0, 1.4, (CLASSES, DIM))
    offsets = rng.normal(0, 1.8, (CLASSES * GROUPS, DIM))
    feats = np.empty((n, DIM), np.float32)
    for lo in range(0, n, 2048):  # in blocks: float64 temporaries of 13,320 x 1280 are big
        part = slice(lo, lo + 2048)
        noise = rng.normal(0, 1.0, (len(classes[part]), DIM))
        feats[part] = np.maximum(mean + centres[classes[part]] + offsets[groups[part]] + noise, 0)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    names = [f"Class{c:03d}" for c in range(CLASSES)]
    test = np.flatnonzero(groups % GROUPS + 1 <= max(TEST_GROUPS))
    sources = rng.choice(test, COPIES, replace=False)
    copies = feats[sources] + rng.normal(0, 0.002, (COPIES, DIM)).astype(np.float32)
    feats = np.vstack([feats[:n - COPIES], copies / np.linalg.norm(copies, axis=1)[:, None]])
    labels = classes.copy()
    labels[n - COPIES:] = classes[sources]
    misfiled = rng.choice(np.flatnonzero(groups % GROUPS + 1 > max(TEST_GROUPS))[:n - COPIES],
                          MISFILED, replace=False)
    labels[misfiled] = (labels[misfiled] + rng.integers(1, CLASSES, MISFILED)) % CLASSES
    records = []
    for i in range(n):
        group = f"{names[classes[i]]}/g{groups[i] % GROUPS + 1:02d}"
        if i >= n - COPIES:
            group = f"{names[labels[i]]}/copy{i}"
        split = "test" if group.endswith(tuple(f"g{g:02d}" for g in TEST_GROUPS)) else "train"
        records.append(VideoRecord(f"{names[labels[i]]}/clip{i:05d}.avi", int(labels[i]),
                                   names[labels[i]], group, split))
    planted = {"copies": [(records[s].path, records[n - COPIES + k].path)
                          for k, s in enumerate(sources)],
               "misfiled": [records[i].path for i in misfiled]}
    return feats, records, names, planted


def clips_for(n: int, cache_dir: Path):
    from vidcore.dataset_map.embeddings import ClipFeatures

    feats, records, names, planted = generate(n)
    return ClipFeatures(tuple(records), feats, tuple(names), version=f"bench-{n}",
                        cache_dir=cache_dir), planted


def stage(name: str, n: int, cache_dir: Path, threshold: float) -> dict:
    """Run one stage in this process; return what it measured."""
    clips, planted = clips_for(n, cache_dir)
    start, cpu = time.perf_counter(), time.process_time()
    out = globals()[f"_stage_{name}"](clips, planted, threshold, cache_dir)
    out.update(wall_s=round(time.perf_counter() - start, 2),
               cpu_s=round(time.process_time() - cpu, 2),
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    return out


def _pairs(clips, exact: bool, threshold: float, cache_dir: Path) -> dict:
    from vidcore.dataset_map.neighbours import NEIGHBOURS, nearest_neighbours, similar_pairs

    indices, sims = nearest_neighbours(clips.matrix, NEIGHBOURS, exact=exact)
    pairs = sorted((i, j) for i, j, _ in similar_pairs(indices, sims, threshold))
    np.save(cache_dir / f"pairs-{'exact' if exact else 'hnsw'}.npy", np.array(pairs))
    return {"pairs": len(pairs)}


def _stage_exact(clips, planted, threshold, cache_dir):
    return _pairs(clips, True, threshold, cache_dir)


def _stage_hnsw(clips, planted, threshold, cache_dir):
    out = _pairs(clips, False, threshold, cache_dir)
    exact_file = cache_dir / "pairs-exact.npy"
    if exact_file.exists():
        exact = {tuple(p) for p in np.load(exact_file).tolist()}
        found = {tuple(p) for p in np.load(cache_dir / "pairs-hnsw.npy").tolist()}
        out["recall_of_exact_pairs"] = round(len(exact & found) / max(1, len(exact)), 4)
    return out


def _stage_duplicates(clips, planted, threshold, cache_dir):
    from vidcore.dataset_map import near_duplicates
    from vidcore.dataset_map.neighbours import EXACT_UP_TO

    table = near_duplicates(clips, threshold)
    ranks = [_rank(table, a, b) for a, b in planted["copies"]]
    return {"search": "exact" if len(clips) <= EXACT_UP_TO else "hnsw", "pairs": len(table),
            "cross_split": int(table.cross_split.sum()),
            "planted_copies_found": sum(r is not None for r in ranks),
            "worst_rank_of_a_copy": max((r for r in ranks if r is not None), default=None)}


def _rank(table, a, b):
    hits = table.index[((table.a == a) & (table.b == b)) | ((table.a == b) & (table.b == a))]
    return int(hits[0]) + 1 if len(hits) else None


def _stage_map(clips, planted, threshold, cache_dir):
    from vidcore.dataset_map import clip_map

    result = clip_map(clips, seed=0)
    return {"method": result.method, "cached": result.cached}


def _stage_issues(clips, planted, threshold, cache_dir):
    from vidcore.dataset_map import label_issues

    issues = label_issues(clips).table
    top = set(issues.path[:2 * MISFILED])
    return {"issues": len(issues),
            f"misfiled_in_first_{2 * MISFILED}": len(top & set(planted["misfiled"])),
            "misfiled_found": len(set(issues.path) & set(planted["misfiled"]))}


def run_child(name: str, n: int, cache_dir: Path, threshold: float) -> dict:
    """Run one stage in a fresh process and return its measurements."""
    cmd = [sys.executable, __file__, "--child", name, "--clips", str(n),
           "--cache", str(cache_dir), "--threshold", str(threshold)]
    load = os.getloadavg()[0]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return {"stage": name, "clips": n, "load_before": round(load, 2),
            **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    """Run the stages (each in its own process) and print one JSON line per stage."""
    from vidcore.dataset_map.duplicates import DEFAULT_THRESHOLD

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=13_320)
    parser.add_argument("--sizes", help="comma-separated sizes for exact against hnsw only")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--child", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(stage(args.child, args.clips, Path(args.cache), args.threshold)))
        return
    print(json.dumps({"cpu_flags": flags_line(), "logical_cpus": os.cpu_count(),
                      "load": os.getloadavg()}))
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [args.clips]
    stages = ["exact", "hnsw"] if args.sizes else args.stages
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="vidcore-map-bench-") as tmp:
            for name in stages:
                print(json.dumps(run_child(name, n, Path(tmp), args.threshold)), flush=True)


if __name__ == "__main__":
    main()
