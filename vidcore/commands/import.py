"""``vidcore import BUNDLE.zip``: add an exported bundle to the runs list, after checking it."""

from __future__ import annotations

from vidcore.commands.output import print_json


def add_parser(sub):
    """Register the ``import`` command."""
    parser = sub.add_parser("import", help="add a bundle made by 'vidcore export' to the runs")
    parser.add_argument("bundle", metavar="BUNDLE", help="the .zip bundle")
    parser.add_argument("--root", metavar="DIR", help="runs folder (default $VIDCORE_RUNS "
                        "or runs/)")
    parser.add_argument("--activate", action="store_true", help="make it the active model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args) -> int:
    """Import, optionally activate, and name the new run."""
    from vidcore import runs
    from vidcore.export import import_bundle

    run_dir = import_bundle(args.bundle, args.root)
    if args.activate:
        runs.set_active_model(run_dir, args.root)
    if args.json:
        print_json({"run_dir": str(run_dir), "active": bool(args.activate)})
    else:
        print(f"imported {args.bundle} as {run_dir}" + (" (active)" if args.activate else ""))
    return 0
