"""``vidcore predict VIDEO``: the action in one video, per frame and for the whole clip."""

from __future__ import annotations

from vidcore.commands.output import print_json


def add_parser(sub):
    """Register the ``predict`` command."""
    parser = sub.add_parser("predict", help="predict the action in a video")
    parser.add_argument("video", metavar="VIDEO", help="video file")
    parser.add_argument("--model", metavar="RUN_DIR",
                        help="run directory (default: the active model, else the demo model)")
    parser.add_argument("--top", type=int, default=3, metavar="K", help="classes per frame (3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args) -> int:
    """Predict and print the answer of every aggregator, then the frames."""
    from vidcore.models import engines
    from vidcore.predict import predict

    with engines.quick_start():  # one clip: never import TensorFlow when LiteRT can do
        result = predict(args.model, args.video, top_k=max(1, args.top)).to_dict()
    if args.json:
        print_json(result)
        return 0
    print(f"{result['primary_label']}  ({result['primary']} "
          f"{result['primary_confidence']:.3f}, model {result['run_dir']})")
    print(f"vote: {result['label']} ({result['vote_share']:.0%} of frames); "
          f"mean probability: {result['mean_label']} ({result['mean_confidence']:.3f})"
          + (f"; temporal: {result['temporal_label']} ({result['temporal_confidence']:.3f})"
             if result["temporal_label"] else ""))
    if result["sampling_note"]:
        print(f"note: {result['sampling_note']}")
    for frame in result["frames"]:
        top = ", ".join(f"{c} {p:.2f}" for c, p in frame["top"])
        print(f"  {frame['time']:7.2f}s  {top}")
    return 0
