"""``vidcore report RUN --out FILE.html``: one self-contained HTML report of an evaluated run."""

from __future__ import annotations


def add_parser(sub):
    """Register the ``report`` command."""
    parser = sub.add_parser("report", help="write an evaluated run's report as one HTML file")
    parser.add_argument("run_dir", metavar="RUN", help="an evaluated run directory")
    parser.add_argument("--split", type=int, metavar="K",
                        help="require the stored evaluation to be of split K")
    parser.add_argument("--out", required=True, metavar="FILE.html",
                        help="where to write the report (opens offline in any browser)")
    return parser


def run(args) -> int:
    """Write the report and print its path and size."""
    from vidcore.html_report import write_report

    path = write_report(args.run_dir, args.out, split=args.split)
    print(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB, self-contained)")
    return 0
