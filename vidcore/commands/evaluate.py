"""``vidcore evaluate RUN_DIR``: video-level accuracy of a run on its split's test list."""

from __future__ import annotations

from vidcore.commands.output import print_json, print_table


def add_parser(sub):
    """Register the ``evaluate`` command."""
    parser = sub.add_parser("evaluate", help="score a trained run on the test list")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory from 'vidcore train'")
    parser.add_argument("--split", type=int, metavar="K",
                        help="split to test on (default: the run's)")
    parser.add_argument("--store", metavar="DIR", help="feature store (default: the run's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args) -> int:
    """Evaluate and print the metrics of every aggregator."""
    from vidcore.evaluate import evaluate

    report = evaluate(args.run_dir, split=args.split, store_dir=args.store).to_dict()
    if args.json:
        print_json(report)
        return 0
    print(f"{report['run_dir']}: {report['head']} on {report['backbone']} features, "
          f"split {report['split']}, {report['num_videos']} test videos")
    rows = [[name, f"{m['top1']:.3f}", f"{m['top5']:.3f}", f"{m['mean_class_accuracy']:.3f}"]
            for name, m in report["aggregators"].items()]
    print_table(rows, ["aggregator", "top-1", "top-5", "mean class acc."])
    primary = report["aggregators"][report["primary"]]["per_class"]
    print(f"\nper class ({report['primary']}):")
    print_table([[c, "-" if v is None else f"{v:.3f}"] for c, v in primary.items()],
                ["class", "top-1"])
    if report["failed"]:
        print(f"{len(report['failed'])} test videos could not be read, e.g. "
              f"{report['failed'][0]['path']}: {report['failed'][0]['reason']}")
    for note in report.get("split_notes", []):
        print(f"note: {note}")
    print(f"per-video table: {report['predictions_csv']}")
    return 0
