"""``vidcore demo-data``: generate the synthetic demo dataset in UCF101's layout."""

from __future__ import annotations

import sys


def add_parser(sub):
    """Register the ``demo-data`` command."""
    parser = sub.add_parser("demo-data", help="generate the demo dataset (UCF101 layout)")
    parser.add_argument("--size", default="demo", help="demo (full) or tiny (for tests)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: data/demo)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="regenerate even if complete")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def _default_out(size: str):
    from vidcore.data import demo

    base = demo.default_demo_dir()
    return base if size == "demo" else base.parent / size


def _progress_bar(enabled: bool):
    """A tqdm bar on stderr fed by the generator's ``progress(done, total)`` calls."""
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(desc="demo dataset", unit="clip", file=sys.stderr, delay=0.5)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return bar, progress


def run(args) -> int:
    """Generate (or find) the dataset and print its root."""
    from vidcore.data import demo  # imported here: the demo generator pulls in multiprocessing

    out = args.out or _default_out(args.size)
    bar, progress = _progress_bar(not args.no_progress)
    try:
        generate = demo.generate_demo_dataset if args.force else demo.ensure_demo_dataset
        root = generate(out, size=args.size, seed=args.seed, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(root)
    return 0
