"""Accuracy of each preset on real clips: k-fold cross-validation by recording.

Each fold tests some recordings of every class that has 2 or more (a class of ``n``
recordings, ``n < k``, tests one of them per fold in turn; larger classes are cut into
``k`` parts), trains the preset on the others exactly as ``vidcore train`` does
(through a CSV manifest with an explicit split, so vidcore's own validation carve,
class balance and head choice apply), and evaluates the run as ``vidcore evaluate``
does. It prints top-1 and mean class accuracy per fold and their mean and spread
across folds, the head each fold kept, the CPU flags and the load. ``--shots N`` is
the few-shot variant: every class keeps at most N training recordings per fold.

Features come from the store (``--store`` or ``$VIDCORE_STORE``), extracted on first
use, so a second run is training and evaluation only. Not a test: the dataset is
real video that a fresh clone does not have (default ``../shared/data/ucf101-dev``).

    .venv/bin/python benchmarks/real_accuracy.py [DATASET] [--presets default,linear]
        [--folds 5] [--seed 0] [--shots 3] [--out results.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidcore.data.index import load_index  # noqa: E402
from vidcore.models.cpu import flags_line  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "data" / "ucf101-dev"


def record_folds(records, k: int, seed: int) -> list[dict[str, str]]:
    """Per fold, recording -> ``train`` or ``test`` (every class of 2+ recordings tested)."""
    by_class = defaultdict(set)
    for r in records:
        by_class[r.class_name].add(r.group)
    folds = [{} for _ in range(k)]
    rng = np.random.default_rng(seed)
    for name in sorted(by_class):
        groups = list(rng.permutation(sorted(by_class[name])))
        for f in range(k):
            if len(groups) < 2:
                tested = set()
            elif len(groups) < k:
                tested = {groups[f % len(groups)]}
            else:
                tested = set(np.array_split(np.array(groups), k)[f])
            folds[f].update({g: "test" if g in tested else "train" for g in groups})
    return folds


def few_shot(assign: dict[str, str], records, shots: int, seed: int) -> dict[str, str]:
    """Keep at most ``shots`` training recordings per class; the others become unused."""
    by_class = defaultdict(list)
    for g in sorted({r.group for r in records if assign[r.group] == "train"}):
        by_class[g.split("/")[0]].append(g)
    rng = np.random.default_rng(seed)
    out = dict(assign)
    for groups in by_class.values():
        for g in list(rng.permutation(groups))[shots:]:
            out[g] = "unused"
    return out


def write_manifest(index, assign: dict[str, str], path: Path) -> Path:
    """A CSV manifest of the fold (absolute paths, so the feature store is shared)."""
    lines = ["path,label,group,split"]
    for r in index.records:
        lines.append(f"{index.path_of(r).resolve()},{r.class_name},"
                     f"{r.group.split('/', 1)[1]},{assign[r.group]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_fold(preset: str, manifest: Path, run_dir: Path, store: str | None) -> dict:
    """Train the preset on the fold's manifest, evaluate it; the primary aggregator's figures."""
    from vidcore.evaluate import evaluate
    from vidcore.presets import preset_config
    from vidcore.train import train

    start = time.perf_counter()
    result = train(preset_config(preset, manifest, store_dir=store), run_dir)
    report = evaluate(result.run_dir).to_dict()
    metrics = report["aggregators"][report["primary"]]
    choice = json.loads((Path(result.run_dir) / "status.json").read_text()).get("head_choice")
    return {"top1": metrics["top1"], "mca": metrics["mean_class_accuracy"],
            "per_class": metrics["per_class"], "head": report["head"],
            "validation": {h: round(s["mean_class_accuracy"], 3)
                           for h, s in (choice or {}).get("candidates", {}).items()},
            "seconds": round(time.perf_counter() - start, 1)}


def summarise(rows: list[dict]) -> dict:
    """Mean and spread (standard deviation across folds) of top-1 and mean class accuracy."""
    def stat(key):
        values = np.array([r[key] for r in rows], float)
        return [round(float(values.mean()), 3), round(float(values.std()), 3)]
    heads = defaultdict(int)
    for r in rows:
        heads[r["head"]] += 1
    return {"top1": stat("top1"), "mca": stat("mca"), "seconds": stat("seconds"),
            "heads": dict(heads)}


def main(argv=None) -> int:
    """Cross-validate each preset; print the figures (and append them to ``--out``)."""
    args = parse(argv)
    index = load_index(args.dataset)
    groups = len({r.group for r in index.records})
    print(f"{args.dataset}: {len(index.records)} clips, {len(index.classes)} classes, "
          f"{groups} recordings, {args.folds} folds by recording (seed {args.seed})"
          f"{f', {args.shots} training recordings per class' if args.shots else ''}; "
          f"CPU flags {flags_line()}, {os.cpu_count()} CPUs, "
          f"load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    folds = record_folds(index.records, args.folds, args.seed)
    if args.shots:
        folds = [few_shot(a, index.records, args.shots, args.seed + i) for i, a in enumerate(folds)]
    with tempfile.TemporaryDirectory(prefix="real-accuracy-") as tmp:
        for preset in args.presets.split(","):
            rows = []
            for i, assign in enumerate(folds):
                manifest = write_manifest(index, assign, Path(tmp) / f"fold{i}.csv")
                rows.append(run_fold(preset, manifest, Path(tmp) / f"{preset}-{i}", args.store))
                r = rows[-1]
                print(f"  {preset} fold {i + 1}/{args.folds}: top-1 {r['top1']:.3f}, mean class "
                      f"{r['mca']:.3f}, head {r['head']} (validation mean class "
                      f"{r['validation'] or '-'}), {r['seconds']:.0f} s", flush=True)
            s = summarise(rows)
            print(f"{preset}: top-1 {s['top1'][0]:.3f} ± {s['top1'][1]:.3f}, mean class "
                  f"{s['mca'][0]:.3f} ± {s['mca'][1]:.3f}, heads {s['heads']}, "
                  f"{s['seconds'][0]:.0f} s a fold", flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps({"preset": preset, "shots": args.shots,
                                        "folds": args.folds, "seed": args.seed,
                                        "flags": flags_line(), **s, "rows": rows,
                                        "load": Path("/proc/loadavg").read_text().split()[0]})
                            + "\n")
    return 0


def parse(argv):
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default=str(DEFAULT_DATASET),
                        help=f"a folder dataset (default {DEFAULT_DATASET})")
    parser.add_argument("--presets", default="default,linear,accurate")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shots", type=int, help="training recordings kept per class")
    parser.add_argument("--store", help="feature store (default $VIDCORE_STORE or features/)")
    parser.add_argument("--out", help="append one JSON line per preset to this file")
    args = parser.parse_args(argv)
    if not Path(args.dataset).exists():
        parser.error(f"{args.dataset} does not exist: give a folder dataset of real clips")
    return args


if __name__ == "__main__":
    sys.exit(main())
