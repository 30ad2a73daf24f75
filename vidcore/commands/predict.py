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
    parser.add_argument("--explain", metavar="DIR",
                        help="write per sampled frame a heatmap overlay (PNG) and the raw "
                        "heatmap (.npy) into DIR; frame contributions join the output")
    parser.add_argument("--explain-class", metavar="CLASS",
                        help="with --explain: the class to find evidence for "
                        "(default: the model's answer)")
    add_timeline_arguments(parser)
    return parser


def add_timeline_arguments(parser) -> None:
    """``--timeline [--window S --step S]``: the verdict of every stretch of a long video."""
    group = parser.add_argument_group("timeline (a long video, window by window)")
    group.add_argument("--timeline", action="store_true",
                       help="classify every window of the video and list its segments")
    group.add_argument("--window", type=float, metavar="S",
                       help="seconds per window (default: the model's window)")
    group.add_argument("--step", type=float, metavar="S",
                       help="seconds between verdicts (default: every frame the model keeps)")


def print_timeline(result: dict) -> None:
    """The timeline's settings and its segments, one line each."""
    tl = result["timeline"]
    print(f"timeline: {len(result['steps'])} windows of {tl['window']:g} s "
          f"({tl['frames']} frames every {tl['interval']:.2f} s), a verdict every "
          f"{tl['step']:.2f} s over {tl['duration']:.1f} s")
    for seg in result["segments"]:
        label = seg["label"] or "(unsure)"
        print(f"  {seg['start']:8.2f} - {seg['end']:8.2f} s  {label}  {seg['confidence']:.2f}")


def _predict(args) -> dict:
    """The prediction's dict, with the timeline's steps and segments when asked for."""
    from vidcore.predict import predict

    model = args.model
    if args.timeline:  # load once for both
        from vidcore.predict import check_video, load_model
        from vidcore.timeline import timeline

        check_video(args.video)  # a wrong path is reported before TensorFlow starts
        model = load_model(args.model)
    result = predict(model, args.video, top_k=max(1, args.top)).to_dict()
    if args.timeline:
        result.update(timeline(model, args.video, args.window, args.step).to_dict())
    return result


def run(args) -> int:
    """Predict and print the answer of every aggregator, then the frames."""
    from vidcore.models import engines

    if args.explain or args.explain_class:
        from vidcore.commands.explain_output import explain_and_print
        from vidcore.errors import InputError

        if args.timeline:
            raise InputError("--explain looks at one window's frames and --timeline at every "
                             "window: run them as two commands")
        return explain_and_print(args)
    with engines.quick_start():  # one clip: never import TensorFlow when LiteRT can do
        result = _predict(args)
    if args.json:
        print_json(result)
        return 0
    if result.get("unfamiliar"):  # its answers below mean little: say so first
        print(f"unfamiliar: unlike the clips this model was trained on (distance "
              f"{result['unfamiliar_score']:.3f}, familiar up to "
              f"{result['unfamiliar_threshold']:.3f})")
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
    if args.timeline:
        print_timeline(result)
    return 0
