"""``vidcore compare RUN_A RUN_B``: two evaluated runs on the same test clips, clip by clip."""

from __future__ import annotations

from vidcore.commands.output import print_json, print_table

SHOWN_DISAGREEMENTS = 20  # the text output lists this many; --json has them all


def add_parser(sub):
    """Register the ``compare`` command."""
    parser = sub.add_parser("compare", help="compare two evaluated runs on the same test clips")
    parser.add_argument("run_a", metavar="RUN_A", help="an evaluated run directory")
    parser.add_argument("run_b", metavar="RUN_B", help="another, evaluated on the same clips")
    parser.add_argument("--split", type=int, metavar="K",
                        help="require both evaluations to be of split K")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args) -> int:
    """Compare and print the verdicts, the agreement counts and the McNemar test."""
    from vidcore.comparison import compare_runs

    result = compare_runs(args.run_a, args.run_b, split=args.split)
    if args.json:
        print_json(result)
        return 0
    print(f"{result['clips']} test clips of split {result['split']}; 95% intervals resample "
          "recordings")
    print_table([_verdict_row(side, result[side]) for side in ("a", "b")],
                ["", "run", "verdict", "top-1", "95% interval", "mean class acc."])
    print(f"\nboth right {result['both_right']}, only A right {result['only_a']}, only B "
          f"right {result['only_b']}, both wrong {result['both_wrong']}")
    print(f"exact McNemar p = {result['p_value']:.4g} ({_meaning(result['p_value'])})")
    print("\nper class (B - A):")
    print_table([[r["class"], r["clips"], f"{r['a']:.3f}", f"{r['b']:.3f}",
                  f"{r['difference']:+.3f}"] for r in result["per_class"]],
                ["class", "clips", "A", "B", "B - A"])
    _print_disagreements(result["disagreements"])
    return 0


def _verdict_row(side: str, v: dict) -> list:
    low, high = v["top1_ci"]
    return [side.upper(), v["name"], v["aggregator"], f"{v['top1']:.3f}",
            f"{low:.3f}-{high:.3f}", f"{v['mean_class_accuracy']:.3f}"]


def _meaning(p: float) -> str:
    return ("a real difference at the 5% level" if p < 0.05
            else "could be luck of the test clips")


def _print_disagreements(rows: list[dict]) -> None:
    if not rows:
        print("\nthe two verdicts agree on every clip")
        return
    print(f"\n{len(rows)} clips where the verdicts differ"
          + (f" (first {SHOWN_DISAGREEMENTS}; --json for all):" if len(rows) >
             SHOWN_DISAGREEMENTS else ":"))
    print_table([[r["path"], r["true"], _mark(r["a_label"], r["a_correct"]),
                  _mark(r["b_label"], r["b_correct"])] for r in rows[:SHOWN_DISAGREEMENTS]],
                ["clip", "true", "A says", "B says"])


def _mark(label: str, correct: bool) -> str:
    return f"{label} {'right' if correct else 'wrong'}"
