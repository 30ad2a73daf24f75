"""``vidcore doctor``: check the feature store and run directories for damage."""

from __future__ import annotations

from vidcore.commands.output import print_json


def add_parser(sub):
    """Register the ``doctor`` command."""
    parser = sub.add_parser("doctor", help="check the feature store and runs for damage")
    parser.add_argument("--store", metavar="DIR", help="feature store (default: features/)")
    parser.add_argument("--runs", metavar="DIR", help="run directories (default: runs/)")
    parser.add_argument("--fix", action="store_true",
                        help="delete damaged store entries and stale temp files "
                             "(recomputed on the next extraction); runs are only reported")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args) -> int:
    """Print what is damaged; exit status 1 when something is (and was not fixed)."""
    from vidcore.doctor import doctor

    report = doctor(args.store, args.runs, fix=args.fix)
    if args.json:
        print_json(report.to_dict())
    else:
        _print_text(report)
    fixed = args.fix and not any(r["problems"] for r in report.runs)
    return 0 if report.healthy or fixed else 1


def _print_text(report) -> None:
    print(f"engine for {report.engine['backbone']}: {report.engine['line']}")
    print(f"store {report.store}: {report.feature_sets} feature sets, {report.entries} entries")
    for item in report.damaged_entries:
        print(f"  damaged: {item['path']} ({item['problem']})")
    for path in report.stale_temp_files:
        print(f"  left by a killed process: {path}")
    for run in report.runs:
        note = "; ".join(run["problems"]) or "ok"
        print(f"run {run['run']} [{run['state']}]: {note}")
    if report.removed:
        print(f"removed {len(report.removed)} files; they are recomputed when needed")
    elif not report.healthy:
        print("run 'vidcore doctor --fix' to remove the damaged store entries")
