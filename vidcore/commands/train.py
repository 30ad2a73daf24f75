"""``vidcore train DATASET``: train a head from a preset, options overriding it; print the run."""

from __future__ import annotations

import sys
from dataclasses import replace

from vidcore.commands.extract import add_sampler_arguments, spec_from_args
from vidcore.commands.info import add_dataset_arguments
from vidcore.commands.output import print_json
from vidcore.models.heads import list_heads
from vidcore.presets import DEFAULT_PRESET, list_presets


def add_parser(sub):
    """Register the ``train`` command."""
    parser = sub.add_parser("train", help="train a classifier; prints the run directory")
    add_dataset_arguments(parser)
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=list_presets(),
                        help=f"recipe to start from ({DEFAULT_PRESET})")
    parser.add_argument("--head", choices=list_heads(), help="head (overrides the preset)")
    add_sampler_arguments(parser)  # --backbone, --weights and the sampler: the preset's if unset
    parser.add_argument("--epochs", type=int, help="maximum epochs")
    parser.add_argument("--batch-size", type=int, help="frames or clips per batch")
    parser.add_argument("--lr", type=float, help="Adam learning rate")
    parser.add_argument("--patience", type=int,
                        help="epochs without better validation loss before stopping (0: never)")
    parser.add_argument("--val-fraction", type=float, help="share of training groups held out")
    parser.add_argument("--train-seed", type=int, help="seed of weights, shuffling, validation")
    parser.add_argument("--run-dir", metavar="DIR", help="run directory (default: runs/<time>-...)")
    parser.add_argument("--store", metavar="DIR", help="feature store (default: features/)")
    parser.add_argument("--evaluate", action="store_true", help="evaluate on the test list after")
    parser.add_argument("--activate", action="store_true",
                        help="make the trained model the one 'vidcore predict' uses")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--queue", action="store_true",
                        help="wait in the training queue (VIDCORE_MAX_JOBS at once) instead "
                             "of training now; prints the job (vidcore queue queues it)")
    return parser


def config_from_args(args):
    """The ``TrainConfig`` named by the command line: the preset, then the options."""
    from vidcore.features import FeatureSpec
    from vidcore.presets import get_preset, preset_config

    preset = get_preset(args.preset).values
    spec = spec_from_args(args, FeatureSpec(preset["backbone"], preset["weights"],
                                            preset["sampler"], flip=preset.get("flip", False)))
    overrides = {
        "format": args.format, "splits": args.splits, "split": args.split,
        "test_fraction": args.test_fraction, "split_seed": args.seed, "head": args.head,
        "backbone": spec.backbone, "epochs": args.epochs, "batch_size": args.batch_size,
        "learning_rate": args.lr, "val_fraction": args.val_fraction, "seed": args.train_seed,
        "store_dir": args.store, "sampler": spec.sampler, "flip": spec.flip,
    }
    # None means "keep the preset's" in overrides, so these two are set directly.
    config = replace(preset_config(args.preset, args.dataset, **overrides), weights=spec.weights)
    if args.patience is not None:
        config = replace(config, patience=args.patience or None)
    return config


class ProgressBars:
    """tqdm bars on stderr fed by training records (extraction, then epochs)."""

    def __init__(self, epochs: int):
        self.epochs, self.bar, self.stage = epochs, None, None

    def __call__(self, record: dict) -> None:
        kind = record.get("kind")
        if kind == "extract":
            self._open("extract", record.get("total") or 0, "features", "video")
            self.bar.n = record.get("done", 0)
            self.bar.refresh()
        elif kind == "batch":
            self._open("train", self.epochs, "epochs", "epoch")
            self.bar.set_postfix(epoch=record["epoch"], loss=f"{record.get('loss', 0):.4f}")
        elif kind == "epoch":
            self._open("train", self.epochs, "epochs", "epoch")
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{record.get('loss', 0):.4f}",
                                 val_loss=f"{record.get('val_loss', 0):.4f}",
                                 val_acc=f"{record.get('val_accuracy', 0):.3f}")

    def _open(self, stage: str, total: int, desc: str, unit: str) -> None:
        if self.stage == stage:
            return
        from tqdm import tqdm

        self.close()
        self.stage = stage
        self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=None,
                        leave=False)

    def close(self) -> None:
        """Close the open bar, if any."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run(args) -> int:
    """Train, optionally evaluate and activate; print the run directory (or JSON)."""
    from vidcore import runs
    from vidcore.train import train

    config = config_from_args(args)
    bars = ProgressBars(config.epochs)
    try:
        result = train(config, args.run_dir, callback=bars)
    finally:
        bars.close()
    data = result.to_dict()
    if args.evaluate and result.best_epoch is not None:
        from vidcore.evaluate import evaluate

        report = evaluate(result.run_dir)
        data["report"] = {k: {m: v[m] for m in ("top1", "top5", "mean_class_accuracy")}
                          for k, v in report.to_dict()["aggregators"].items()}
    if args.activate:
        runs.set_active_model(result.run_dir)
    if args.json:
        print_json(data)
        return 0
    _summary(data)
    print(result.run_dir)
    return 0


def _summary(data: dict) -> None:
    """Human summary on stderr, so stdout holds only the run directory."""
    best = data["best_val_accuracy"]
    best_text = f"{best:.3f} at epoch {data['best_epoch']}" if best is not None else "none"
    print(f"{data['state']}: {data['epochs_run']} epochs, {data['train_videos']} train / "
          f"{data['val_videos']} validation videos, best validation accuracy {best_text}",
          file=sys.stderr)
    if data.get("head_choice"):
        print(f"head: {data['head']} ({data['head_choice']['why']})", file=sys.stderr)
    for note in data.get("split_notes", []):
        print(f"note: {note}", file=sys.stderr)
    for name, metrics in data.get("report", {}).items():
        print(f"test {name}: top-1 {metrics['top1']:.3f}, top-5 {metrics['top5']:.3f}, "
              f"mean class accuracy {metrics['mean_class_accuracy']:.3f}", file=sys.stderr)
