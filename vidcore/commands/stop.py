"""``vidcore stop RUN_DIR``: ask a training run to stop after its current batch."""

from __future__ import annotations


def add_parser(sub):
    """Register the ``stop`` command."""
    parser = sub.add_parser("stop", help="ask a training run to stop (it keeps its best model)")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run directory")
    return parser


def run(args) -> int:
    """Write the stop request and say so."""
    from vidcore import runs

    path = runs.request_stop(args.run_dir)
    state = runs.read_status(args.run_dir).get("state")
    print(f"stop requested ({path}); the run is {state}")
    return 0
