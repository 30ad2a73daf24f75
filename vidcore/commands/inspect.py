"""``vidcore inspect DATASET``: the dataset map, near-duplicates and likely label issues."""

from __future__ import annotations

from vidcore.commands.extract import _ProgressBar, add_sampler_arguments, spec_from_args
from vidcore.commands.info import add_dataset_arguments, index_from_args
from vidcore.commands.output import print_json, print_table
from vidcore.dataset_map.duplicates import DEFAULT_THRESHOLD
from vidcore.errors import InputError
from vidcore.presets import DEFAULT_PRESET, list_presets

TEXT_LIMIT = 10  # rows of each list printed for people (--json prints all)


def add_parser(sub):
    """Register the ``inspect`` command."""
    parser = sub.add_parser(
        "inspect", help="map the clips; list near-duplicates and likely label issues")
    add_dataset_arguments(parser)  # --split K chooses the split that "cross_split" means
    parser.add_argument("--preset", default=DEFAULT_PRESET, choices=list_presets(),
                        help=f"whose features to use ({DEFAULT_PRESET})")
    add_sampler_arguments(parser)  # override the preset's backbone and sampler
    parser.add_argument("--store", metavar="DIR", help="feature store (default: features/)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help=f"cosine similarity of near-duplicates ({DEFAULT_THRESHOLD})")
    parser.add_argument("--limit", type=int, metavar="N",
                        help=f"rows of each list (default: {TEXT_LIMIT}; all with --json)")
    parser.add_argument("--inspect-seed", type=int, default=0, metavar="S",
                        help="seed of the map layout and the cross-validation folds (0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def spec_for(args):
    """The ``FeatureSpec``: the preset's features, the sampler options over them."""
    from vidcore.features import FeatureSpec
    from vidcore.presets import get_preset

    preset = get_preset(args.preset).values
    return spec_from_args(args, FeatureSpec(preset["backbone"], preset["weights"],
                                            preset["sampler"], flip=preset.get("flip", False)))


def run(args) -> int:
    """Inspect the dataset; print JSON or a short report."""
    from vidcore.dataset_map import clip_features
    from vidcore.dataset_map.inspection import check_threshold, inspect_clips

    check_threshold(args.threshold)  # before the progress bar, so the error stays one line
    if args.limit is not None and args.limit < 0:
        raise InputError(f"--limit must be 0 or more, not {args.limit}")
    index = index_from_args(args)
    spec = spec_for(args)
    _single_threaded_bars()
    with _ProgressBar(len(index.records), disable=args.json) as bar:
        clips = clip_features(index, spec, args.store, progress=bar.update)
    result = inspect_clips(index.root, clips, args.threshold, args.inspect_seed)
    limit = args.limit if args.limit is not None or args.json else TEXT_LIMIT
    data = result.to_dict(limit)
    if args.json:
        print_json(data)
    else:
        _print_report(data)
    return 0


def _single_threaded_bars() -> None:
    """No tqdm monitor thread (it outlives every bar, even disabled ones): in a process
    left with one thread, the map's umap import can leave TensorFlow out (363 MB peak
    instead of 843 MB, ``layout.import_umap``). The bar is updated by hand anyway."""
    import tqdm

    tqdm.tqdm.monitor_interval = 0


def _print_report(data: dict) -> None:
    print(f"{data['clips']} clips of {data['dataset']}"
          + (f" ({len(data['unreadable'])} unreadable, left out)" if data["unreadable"] else ""))
    print(f"\nnear-duplicates (similarity >= {data['threshold']}): {data['duplicates_total']} "
          f"pairs, {data['cross_split_total']} across the split")
    if data["duplicates"]:
        print_table([[f"{d['similarity']:.3f}", "yes" if d["cross_split"] else "",
                      "yes" if d["same_group"] else "", d["a"], d["b"]]
                     for d in data["duplicates"]],
                    ["similarity", "cross-split", "same group", "a", "b"])
    print(f"\nlikely label issues: {data['label_issues_total']}"
          + (f" ({len(data['unjudged'])} clips not judged: their class has one recording)"
             if data["unjudged"] else ""))
    if data["label_issues"]:
        print_table([[f"{i['score']:.3f}", i["given"], i["suggested"], i["path"]]
                     for i in data["label_issues"]], ["score", "given", "suggested", "path"])
    m = data["map"]
    print(f"\nmap: {m['clips']} clips by {m['method']} (seed {m['seed']}): {m['file']}")
