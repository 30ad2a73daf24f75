"""Frozen ``accurate`` against fine-tuned ``finetune`` on real clips, cross-validated by
recording, with what fine-tuning costs per epoch and in all.

The folds, manifests and evaluation are ``benchmarks/real_accuracy.py``'s (each fold
trains the preset as ``vidcore train`` does and evaluates the run as ``vidcore
evaluate`` does: a fine-tuned run's test features come from its own backbone). Prints
top-1 and mean class accuracy per fold and across folds, seconds per epoch, epochs
run, the activation cache's seconds, seconds a fold, the CPU flags and the load; with
``--cost-out`` it writes the measured cost figures ``vidcore.finetune_cost`` estimates
from (docs/finetune_cost.json).

    VIDCORE_STORE=... .venv/bin/python benchmarks/finetune_accuracy.py [DATASET]
        [--presets accurate,finetune] [--folds 5] [--seed 0] [--out results.jsonl]
        [--cost-out docs/finetune_cost.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from real_accuracy import DEFAULT_DATASET, record_folds, run_fold, summarise, write_manifest  # noqa: E402,I001

from vidcore.data.index import load_index  # noqa: E402
from vidcore.features import FeatureSpec  # noqa: E402
from vidcore.models.cpu import flags_line  # noqa: E402


def load() -> str:
    """The 1-minute load average."""
    return Path("/proc/loadavg").read_text().split()[0]


def features_from_maps(run_dir: Path, manifest: Path, store: str | None) -> int:
    """Put the fine-tuned features of the fold's test clips into the run's feature store,
    computed from their cached frozen maps through the run's own top (the same
    arithmetic as the whole backbone, on float16 maps), so that ``evaluate`` finds them
    instead of running the whole Lite2 over every test frame. Frame times come from
    the frozen features of the same sampler. Returns the clips so filled."""
    import csv

    from vidcore.features import VideoFeatures, open_store
    from vidcore.features.activations import ActivationStore, activation_spec
    from vidcore.features.store import FeatureStore
    from vidcore.finetune import TopTrainer
    from vidcore.models.backbones import create_backbone
    from vidcore.models.lite_cut import cut_block, top_model
    from vidcore.predict import load_model

    model = load_model(run_dir)
    spec = model.feature_spec
    cut = cut_block(spec.backbone, model.config["finetune_stages"])
    frozen = FeatureSpec(spec.backbone, model.config["weights"], spec.sampler, flip=spec.flip)
    maps = ActivationStore(store, activation_spec(frozen, cut))
    times, target = FeatureStore(store, frozen), open_store(store, spec)
    trainer = TopTrainer(top_model(create_backbone(spec.backbone, spec.weights), cut),
                         len(model.classes), 1e-4)
    with open(manifest) as f:
        tests = [row["path"] for row in csv.DictReader(f) if row["split"] == "test"]
    filled = 0
    for path in tests:
        m, t = maps.get(path), times.get(path)
        if m is None or t is None or len(t.timestamps) != len(m):
            continue
        target.put(path, VideoFeatures(trainer.clip_features(m).astype(np.float16),
                                       t.timestamps, t.frame_ids))
        filled += 1
    return filled


def tuned_fold(preset: str, manifest: Path, run_dir: Path, store: str | None,
               epochs: int | None = None) -> dict:
    """``run_fold`` with the test features filled from the cached maps before evaluating
    (and at most ``epochs`` epochs when given)."""
    import time

    from vidcore.evaluate import evaluate
    from vidcore.presets import preset_config
    from vidcore.train import train

    start = time.perf_counter()
    train(preset_config(preset, manifest, store_dir=store, epochs=epochs), run_dir)
    filled = features_from_maps(run_dir, manifest, store)
    metrics = evaluate(run_dir).to_dict()
    primary = metrics["aggregators"][metrics["primary"]]
    return {"top1": primary["top1"], "mca": primary["mean_class_accuracy"],
            "per_class": primary["per_class"], "head": metrics["head"],
            "test_from_maps": filled, "seconds": round(time.perf_counter() - start, 1)}


def fold_cost(run_dir: Path) -> dict:
    """The fine-tuning figures a run's status records (empty for a frozen run)."""
    status = json.loads((run_dir / "status.json").read_text())
    tuned = status.get("finetune") or {}
    return {"epochs_run": status.get("epochs_run"), "best_epoch": status.get("best_epoch"),
            "seconds_per_epoch": tuned.get("seconds_per_epoch"),
            "cache_seconds": tuned.get("cache_seconds"),
            "cache_computed": (tuned.get("cache") or {}).get("computed"),
            "train_clips": tuned.get("train_clips"),
            "frames_per_step": tuned.get("frames_per_step"),
            "frozen_val_loss": tuned.get("frozen_val_loss"),
            "best_val_loss": tuned.get("best_val_loss")}


def cost_figures(rows: list[dict], views: int, frames: int) -> dict:
    """Seconds per trained frame and per cached frame, as ``vidcore.finetune_cost`` reads."""
    per_frame = [r["seconds_per_epoch"] / (r["train_clips"] * r["frames_per_step"])
                 for r in rows if r.get("seconds_per_epoch")]
    cached = [r["cache_seconds"] / (r["cache_computed"] * frames * views)
              for r in rows if r.get("cache_computed")]
    return {"train_seconds_per_frame": round(float(np.median(per_frame)), 5),
            "cache_seconds_per_frame": round(float(np.median(cached)), 5) if cached else None,
            "epochs_run": round(float(np.mean([r["epochs_run"] for r in rows])), 1),
            "seconds_per_fold": round(float(np.mean([r["seconds"] for r in rows])), 1)}


def main(argv=None) -> int:
    """Cross-validate each preset; print the figures (and append them to ``--out``)."""
    args = parse(argv)
    index = load_index(args.dataset)
    print(f"{args.dataset}: {len(index.records)} clips, {len(index.classes)} classes, "
          f"{args.folds} folds by recording (seed {args.seed}); CPU flags {flags_line()}, "
          f"{os.cpu_count()} CPUs, load {load()}", flush=True)
    folds = record_folds(index.records, args.folds, args.seed)
    # Settle the engine choice of the presets' backbone first, as its first use would
    # (the frozen bottom runs on the engine the whole backbone runs on here).
    FeatureSpec("efficientnet_lite2").engine_choice()
    with tempfile.TemporaryDirectory(prefix="finetune-accuracy-") as tmp:
        for preset in args.presets.split(","):
            rows = []
            for i, assign in list(enumerate(folds[:args.only or None]))[args.first:]:
                manifest = write_manifest(index, assign, Path(tmp) / f"fold{i}.csv")
                run_dir = Path(tmp) / f"{preset}-{i}"
                if args.test_from_maps and preset == "finetune":
                    row = tuned_fold(preset, manifest, run_dir, args.store, args.epochs)
                else:
                    row = run_fold(preset, manifest, run_dir, args.store)
                rows.append({**row,
                             **fold_cost(run_dir), "load": load()})
                r = rows[-1]
                if args.out:  # each fold as it ends, so a cut-short run still leaves its rows
                    with open(args.out + ".folds", "a") as f:
                        f.write(json.dumps({"preset": preset, "fold": i, **r}) + "\n")
                print(f"  {preset} fold {i + 1}: top-1 {r['top1']:.3f}, mean class "
                      f"{r['mca']:.3f}, {r['seconds']:.0f} s (epochs {r['epochs_run']}, best "
                      f"{r['best_epoch']}, {r['seconds_per_epoch']} s an epoch, cache "
                      f"{r['cache_seconds']} s, val loss {r['frozen_val_loss']} -> "
                      f"{r['best_val_loss']}), load {r['load']}", flush=True)
            report(preset, rows, args)
    return 0


def report(preset: str, rows: list[dict], args) -> None:
    """Print a preset's summary; append it to ``--out``; write ``--cost-out``."""
    s = summarise(rows)
    print(f"{preset}: top-1 {s['top1'][0]:.3f} ± {s['top1'][1]:.3f}, mean class "
          f"{s['mca'][0]:.3f} ± {s['mca'][1]:.3f}, {s['seconds'][0]:.0f} s a fold", flush=True)
    tuned = [r for r in rows if r.get("seconds_per_epoch")]
    cost = cost_figures(tuned, 2, 16) if tuned else {}
    if cost:
        print(f"  cost: {cost}", flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps({"preset": preset, "folds": args.folds, "seed": args.seed,
                                "flags": flags_line(), **s, "cost": cost, "rows": rows})
                    + "\n")
    if cost and args.cost_out:
        machine = {"cpus": os.cpu_count(), "cpu_flags": flags_line().split(), "load": load()}
        Path(args.cost_out).write_text(json.dumps({"machine": machine, "preset": preset,
                                                   **cost}, indent=2) + "\n")


def parse(argv):
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default=str(DEFAULT_DATASET))
    parser.add_argument("--presets", default="accurate,finetune")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only", type=int, help="run only the first N folds")
    parser.add_argument("--first", type=int, default=0,
                        help="skip the folds before this one (0-based; to finish a cut run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", help="feature store (default $VIDCORE_STORE or features/)")
    parser.add_argument("--out", help="append one JSON line per preset to this file")
    parser.add_argument("--cost-out", help="write the measured cost figures to this JSON file")
    parser.add_argument("--epochs", type=int,
                        help="with --test-from-maps: at most this many fine-tuning epochs")
    parser.add_argument("--test-from-maps", action="store_true",
                        help="a fine-tuned run's test features from the cached frozen maps "
                             "of its test clips (cache them first) and its own top, not "
                             "the whole backbone over every test frame")
    args = parser.parse_args(argv)
    if not Path(args.dataset).exists():
        parser.error(f"{args.dataset} does not exist: give a folder dataset of real clips")
    return args


if __name__ == "__main__":
    sys.exit(main())
