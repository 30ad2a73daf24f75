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


class _ProgressBar:
    """A tqdm bar on stderr, fed by the generator's ``progress(done, total)`` calls; made
    on the first call, so a dataset that is already complete prints nothing."""

    def __init__(self):
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(desc="demo dataset", unit="clip", total=total, file=sys.stderr)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        """Finish the bar's line (if one was drawn)."""
        if self._bar is not None:
            self._bar.close()


def run(args) -> int:
    """Generate (or find) the dataset and print its root."""
    from vidcore.data import demo  # imported here: the demo generator pulls in multiprocessing

    out = args.out or _default_out(args.size)
    bar = None if args.no_progress else _ProgressBar()
    try:
        generate = demo.generate_demo_dataset if args.force else demo.ensure_demo_dataset
        root = generate(out, size=args.size, seed=args.seed, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    print(root)
    return 0
