"""``vidcore extract DATASET``: compute and store frame features of a dataset's videos."""

from __future__ import annotations

import argparse

from vidcore.commands.info import add_dataset_arguments, index_from_args
from vidcore.commands.output import print_json
from vidcore.errors import InputError


def add_sampler_arguments(parser) -> None:
    """Options that choose a backbone and a frame sampler."""
    parser.add_argument("--backbone", help="backbone name (default: efficientnet_lite0)")
    parser.add_argument("--weights", help="imagenet (default), none, or a weights file path")
    parser.add_argument("--sampler", choices=("fps", "uniform", "segments"),
                        help="frame sampler (default: uniform)")
    parser.add_argument("--frames", type=int, help="frames per video for uniform/segments (8)")
    parser.add_argument("--rate", type=float, help="frames per second for the fps sampler (1)")
    parser.add_argument("--max-frames", type=int, help="cap on frames per video (fps sampler)")
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                        help="average each frame's features with its mirror's (test-time "
                             "augmentation, twice the backbone cost; default: the preset's)")


def spec_from_args(args, defaults=None):
    """A ``FeatureSpec`` from ``add_sampler_arguments`` options over ``defaults``."""
    from vidcore.data.sampling import create_sampler
    from vidcore.features import FeatureSpec

    base = defaults or FeatureSpec()
    name = args.sampler or base.sampler.name
    params = dict(base.sampler.config()) if name == base.sampler.name else {}
    # An option left unset keeps the preset's value (the accurate preset's 16 frames).
    given = {"frames": args.frames, "rate": args.rate, "max_frames": args.max_frames}
    params.update({k: v for k, v in given.items() if v is not None})
    for key in [k for k in params if k not in _fields(name)]:
        del params[key]
    weights = base.weights if args.weights is None else args.weights
    weights = None if str(weights).lower() == "none" else weights
    flip = base.flip if getattr(args, "flip", None) is None else args.flip
    return FeatureSpec(args.backbone or base.backbone, weights, create_sampler(name, **params),
                       flip=flip)


def _fields(sampler_name: str) -> set:
    from vidcore.data.sampling import SAMPLERS

    return set(SAMPLERS[sampler_name].__dataclass_fields__) - {"name"}


def add_parser(sub):
    """Register the ``extract`` command."""
    parser = sub.add_parser("extract", help="extract frame features into the feature store")
    add_dataset_arguments(parser)
    add_sampler_arguments(parser)
    parser.add_argument("--store", metavar="DIR", help="feature store folder (default: features/)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="decoding threads (2)")
    parser.add_argument("--all", action="store_true",
                        help="every video of the index, not only train and test of the split")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local (default) or ray: distributed over a Ray cluster; the store "
                             "must then be on a shared filesystem at the same absolute path "
                             "on every node (see docs/scale-out.md)")
    parser.add_argument("--address", metavar="ADDR",
                        help="Ray cluster address, e.g. HEAD:6379 (default: a local Ray instance)")
    parser.add_argument("--ray-workers", type=int, metavar="N",
                        help="Ray actors, one backbone each (default: one per 2 cluster CPUs)")
    return parser


def run(args) -> int:
    """Extract, with a progress bar on stderr, then print the summary."""
    from vidcore.features import extract

    if args.engine == "local" and (args.address or args.ray_workers):
        raise InputError("--address and --ray-workers need --engine ray")
    from vidcore.models import engines

    engines.requested()  # a bad VIDCORE_ENGINE is one line, before the progress bar
    index = index_from_args(args)
    records = index.records if args.all else index.train + index.test
    paths = [index.path_of(r) for r in records]
    with _ProgressBar(len(paths), disable=args.json) as bar:
        if args.engine == "ray":
            from vidcore.distributed import extract_ray

            summary = extract_ray(paths, spec_from_args(args), args.store, args.address,
                                  args.ray_workers, args.batch_size, args.workers,
                                  progress=bar.update)
        else:
            summary = extract(paths, spec_from_args(args), args.store, args.batch_size,
                              args.workers, progress=bar.update)
    if args.json:
        print_json(summary.to_dict())
        return 0
    s = summary.to_dict()
    print(f"{s['videos']} videos: {s['computed']} computed, {s['cached']} cached, "
          f"{len(s['failed'])} failed; {s['frames']} frames in {s['seconds']:.1f} s "
          f"({s['frames_per_second']:.1f} frames/s)")
    print(f"store: {s['store']}")
    for failure in s["failed"]:
        print(f"failed: {failure['path']}: {failure['reason']}")
    return 0


class _ProgressBar:
    """tqdm bar fed by the extraction progress callback (videos, frames/s, ETA)."""

    def __init__(self, total: int, disable: bool = False):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="video", disable=disable, dynamic_ncols=True)

    def update(self, event: dict) -> None:
        self.bar.n = event["done"]
        self.bar.set_postfix_str(f"{event['frames_per_second']:.1f} frames/s", refresh=False)
        self.bar.refresh()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.bar.close()
