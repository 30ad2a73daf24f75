"""``vidcore demo-data``: generate the synthetic demo dataset in UCF101's layout."""

from __future__ import annotations


def add_parser(sub):
    """Register the ``demo-data`` command."""
    parser = sub.add_parser("demo-data", help="generate the demo dataset (UCF101 layout)")
    parser.add_argument("--size", default="demo", help="demo (full) or tiny (for tests)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: data/demo)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="regenerate even if complete")
    return parser


def _default_out(size: str):
    from vidcore.data import demo

    base = demo.default_demo_dir()
    return base if size == "demo" else base.parent / size


def run(args) -> int:
    """Generate (or find) the dataset and print its root."""
    from vidcore.data import demo  # imported here: the demo generator pulls in multiprocessing

    out = args.out or _default_out(args.size)
    if args.force:
        root = demo.generate_demo_dataset(out, size=args.size, seed=args.seed)
    else:
        root = demo.ensure_demo_dataset(out, size=args.size, seed=args.seed)
    print(root)
    return 0
