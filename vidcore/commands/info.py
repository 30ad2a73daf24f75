"""``vidcore info DATASET``: what a dataset holds, its split, and what is wrong with it."""

from __future__ import annotations

from vidcore.commands.output import print_json, print_table
from vidcore.data.index import FORMATS, load_index
from vidcore.workspace.store import resolve_dataset


def add_dataset_arguments(parser) -> None:
    """The options every command that reads a dataset shares."""
    parser.add_argument("dataset", type=resolve_dataset,
                        help="dataset folder, CSV manifest, or a workspace dataset's name")
    parser.add_argument("--format", default="auto", choices=FORMATS, help="source format")
    parser.add_argument("--splits", metavar="DIR", help="folder of the official split files")
    parser.add_argument("--split", type=int, default=1, metavar="K", help="split number (1)")
    parser.add_argument("--test-fraction", type=float, default=0.3,
                        help="test share when the split is generated (0.3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of a generated split (0)")


def index_from_args(args):
    """Load the dataset named by ``add_dataset_arguments`` options."""
    return load_index(args.dataset, args.format, args.split, args.splits,
                      args.test_fraction, args.seed)


def add_parser(sub):
    """Register the ``info`` command."""
    parser = sub.add_parser("info", help="summarise a dataset and check its split")
    add_dataset_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args) -> int:
    """Print the dataset summary."""
    from vidcore.data.splits import split_notes

    index = index_from_args(args)
    summary = {**index.summary(), "split_notes": split_notes(index)}
    if args.json:
        print_json(summary)
        return 0
    s = summary
    print(f"{s['root']}  ({s['format']}, split {s['split']} from {s['splits_source']})")
    print(f"{s['num_classes']} classes, {s['videos']} videos: "
          f"{s['train']} train, {s['test']} test, {s['unused']} unused")
    print(f"groups: {s['groups']['train']} train, {s['groups']['test']} test")
    rows = [[c, n["train"], n["test"], n["unused"]] for c, n in s["per_class"].items()]
    print_table(rows, ["class", "train", "test", "unused"])
    if s["leaking_groups"]:
        print(f"WARNING: {s['leaking_groups']} groups are in both train and test "
              f"(e.g. {', '.join(s['leaking_group_names'][:3])}): accuracy will be inflated")
    else:
        print("leakage check: no group is on both sides of the split")
    for key, what in (("missing", "listed but missing"), ("unlisted", "on disk but in no list")):
        if s[key]:
            print(f"{len(s[key])} videos {what}, e.g. {', '.join(s[key][:3])}")
    for note in s["split_notes"]:
        print(f"NOTE: {note}")
    return 0
