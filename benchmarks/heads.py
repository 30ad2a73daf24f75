"""Every head x aggregator on one dataset split: the accuracy table README quotes.

Trains each head with the ``default`` preset's features (EfficientNet-Lite0, 8 uniform
frames; cached in the feature store after the first run), evaluates on the test list,
and prints top-1 / mean class accuracy per aggregator plus per-class accuracy of the
reverse-pair classes, where frame voting and the temporal head part ways.

    .venv/bin/python benchmarks/heads.py [DATASET] [--split K] [--runs DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vidcore.evaluate import evaluate  # noqa: E402
from vidcore.presets import preset_config  # noqa: E402
from vidcore.train import train  # noqa: E402

HEADS = (("temporal_conv", "default"), ("frame_mlp", "default"), ("linear", "linear"))
PAIR_CLASSES = ("SitDown", "StandUp", "RaiseArms", "LowerArms")


def run_head(dataset: str, head: str, preset: str, split: int, runs: Path) -> dict:
    """Train one head and return its evaluation report as a dict."""
    config = preset_config(preset, dataset, head=head, split=split)
    result = train(config, run_dir=runs / head)
    return evaluate(result.run_dir).to_dict()


def main() -> None:
    """Train, evaluate, print the markdown tables."""
    from vidcore.data import demo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?")
    parser.add_argument("--split", type=int, default=1)
    parser.add_argument("--runs", help="keep the run directories here")
    args = parser.parse_args()
    dataset = args.dataset or str(demo.ensure_demo_dataset(demo.default_demo_dir()))
    runs = Path(args.runs or tempfile.mkdtemp(prefix="vidcore-heads-"))
    reports = {head: run_head(dataset, head, preset, args.split, runs) for head, preset in HEADS}
    print("| head | aggregator | top-1 | top-5 | mean class acc. | "
          + " | ".join(PAIR_CLASSES) + " |")
    print("|---" * (5 + len(PAIR_CLASSES)) + "|")
    for head, report in reports.items():
        for name, m in report["aggregators"].items():
            pairs = " | ".join(f"{m['per_class'].get(c, float('nan')):.2f}" for c in PAIR_CLASSES)
            print(f"| {head} | {name} | {m['top1']:.3f} | {m['top5']:.3f} | "
                  f"{m['mean_class_accuracy']:.3f} | {pairs} |")


if __name__ == "__main__":
    main()
