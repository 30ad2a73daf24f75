"""``vidcore runs``: list training runs; ``--activate RUN_DIR`` picks the model predict uses."""

from __future__ import annotations

from vidcore.commands.output import print_json, print_table


def add_parser(sub):
    """Register the ``runs`` command."""
    parser = sub.add_parser("runs", help="list training runs, or set the active model")
    parser.add_argument("--root", metavar="DIR", help="runs folder (default: runs/)")
    parser.add_argument("--activate", metavar="RUN_DIR", help="make this run the active model")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args) -> int:
    """List runs (newest first), or activate one."""
    from vidcore import runs

    if args.activate:
        print(runs.set_active_model(args.activate, args.root))
        return 0
    listing = runs.list_runs(args.root)
    active = runs.active_model(args.root)
    if args.json:
        print_json({"active": str(active) if active else None, "runs": listing})
        return 0
    rows = [["*" if runs.same_run(active, r["path"]) else "", r["name"], r["state"],
             r["head"], r["backbone"], _num(r["best_val_accuracy"]), _num(r["top1"])]
            for r in listing]
    print_table(rows, ["", "run", "state", "head", "backbone", "val acc.", "test top-1"])
    return 0


def _num(value) -> str:
    return "-" if value is None else f"{value:.3f}"
