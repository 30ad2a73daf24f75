"""``vidcore predict VIDEO --explain DIR``: the prediction plus where and when its evidence lies.

Kept apart from ``predict.py`` so that command stays one screen: this module writes the
heatmaps (``vidcore.explain.save``) and prints the frames ranked by contribution.
"""

from __future__ import annotations

from vidcore.commands.output import print_json, print_table
from vidcore.errors import InputError


def explain_and_print(args) -> int:
    """Predict, explain (``args.explain_class`` or the answer), write files, print."""
    from vidcore import explain
    from vidcore.predict import check_video, load_model

    if not args.explain:
        raise InputError("--explain-class needs --explain DIR (where the heatmaps go)")
    check_video(args.video)  # a wrong path is reported before TensorFlow starts
    model = load_model(args.model)
    prediction, result, images = explain.explain_video(model, args.video, args.explain_class,
                                                       top_k=max(1, args.top))
    files = explain.save(result, images, args.explain)
    data = prediction.to_dict()
    data["explanation"] = {**result.to_dict(files), "dir": str(args.explain)}
    if args.json:
        print_json(data)
        return 0
    print(f"{data['primary_label']}  ({data['primary']} {data['primary_confidence']:.3f}, "
          f"model {data['run_dir']})")
    print(f"evidence for {result.class_name} ({result.aggregator} score {result.score:.3f}); "
          f"heatmaps in {args.explain}; frames, most supporting first:")
    frames = data["explanation"]["frames"]
    print_table([[f"{frames[i]['time']:.2f}s", f"{frames[i]['share']:+.0%}",
                  f"{frames[i]['contribution']:+.3f}", frames[i]["overlay"],
                  frames[i]["heatmap"]] for i in result.ranking()],
                ["time", "share", "log-odds drop", "overlay", "heatmap"])
    return 0
