"""Per preset: feature-extraction cost per real-length clip, and demo accuracy.

Extraction runs ``vidcore.features.extract`` (decode, sample, resize, backbone, store)
on the real-length clips of ``benchmarks/clips.py`` (6-9 s, UCF101's codecs) into a
fresh store, after a warm-up clip that builds the backbone and lets the engine
choice measure itself; the figure is wall seconds per clip. Presets that share
features (``linear`` uses ``default``'s) are timed once. With ``--accuracy`` each
preset is also trained and evaluated on the tiny demo dataset (top-1, video level).
The figures, with the CPU flags, go to ``docs/presets.json``, which the Train page shows.
Not a test: one machine's timings on a shared CPU, to compare presets within one run.

    .venv/bin/python benchmarks/presets.py [--clips N] [--accuracy] [--presets a,b]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import clips  # noqa: E402
from vidcore.atomic import replace_via_temp  # noqa: E402
from vidcore.features import FeatureSpec, backbone_runner, extract  # noqa: E402
from vidcore.models.backbones import get_spec, imagenet_weights_available  # noqa: E402
from vidcore.models.cpu import cpu_flags  # noqa: E402
from vidcore.presets import get_preset, list_presets, preset_config  # noqa: E402
from vidcore.settings import presets_file  # noqa: E402


def feature_spec(name: str) -> FeatureSpec:
    """The features a preset trains on."""
    values = get_preset(name).values
    return FeatureSpec(values["backbone"], values["weights"], values["sampler"],
                       flip=values.get("flip", False))


def seconds_per_clip(spec: FeatureSpec, paths: list[Path]) -> dict:
    """Extraction wall time per clip into a fresh store, after a warm-up clip."""
    runner = backbone_runner(spec)
    with tempfile.TemporaryDirectory() as warm:
        extract(paths[:1], spec, warm, model=runner)
    with tempfile.TemporaryDirectory() as store:
        summary = extract(paths[1:], spec, store, model=runner)
    clips_done = summary.computed
    return {"seconds_per_clip": round(summary.seconds / clips_done, 3),
            "frames_per_clip": round(summary.frames / clips_done, 1),
            "clips": clips_done, "engine": runner.engine, "precision": runner.precision,
            "flip": spec.flip}


def demo_accuracy(name: str, runs: Path) -> float:
    """Video top-1 (the preset's head and aggregator) on the demo test split."""
    from vidcore.data import demo
    from vidcore.evaluate import evaluate
    from vidcore.train import train

    dataset = demo.ensure_demo_dataset(demo.default_demo_dir())
    result = train(preset_config(name, dataset), run_dir=runs / name)
    report = evaluate(result.run_dir).to_dict()
    return max(m["top1"] for m in report["aggregators"].values())


def measure(names: list[str], count: int, accuracy: bool) -> dict:
    """Figures per preset; presets whose ImageNet weights are missing are skipped."""
    paths = sorted(clips.ensure_clips(count).glob("*/*.*"))
    rows, timed = {}, {}
    runs = Path(tempfile.mkdtemp(prefix="vidcore-presets-"))
    for name in names:
        spec = feature_spec(name)
        if not imagenet_weights_available(spec.backbone):
            rows[name] = {"skipped": f"{spec.backbone} ImageNet weights are not installed"}
            continue
        key = json.dumps(spec.to_dict(), sort_keys=True)
        timed.setdefault(key, seconds_per_clip(spec, paths))
        rows[name] = {**timed[key], "backbone": spec.backbone,
                      "macs_per_frame": get_spec(spec.backbone).macs}
        if accuracy:
            rows[name]["demo_top1"] = round(demo_accuracy(name, runs), 3)
        print(name, rows[name], flush=True)
    return rows


def main() -> None:
    """Measure, print a markdown table, write docs/presets.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=13, help="real-length clips (1 warms up)")
    parser.add_argument("--accuracy", action="store_true", help="also train on the demo")
    parser.add_argument("--presets", default=",".join(list_presets()))
    parser.add_argument("--out", default=str(presets_file()))
    args = parser.parse_args()
    rows = measure(args.presets.split(","), args.clips, args.accuracy)
    machine = {"cpu_flags": cpu_flags(), "cpus": len(__import__("os").sched_getaffinity(0)),
               "python": platform.python_version(), "clips": clips.describe(),
               "date": datetime.date.today().isoformat()}
    print(f"CPU flags: {' '.join(machine['cpu_flags'])}; {machine['cpus']} CPUs")
    print("| preset | backbone | frames/clip | s per clip | demo top-1 |\n|---|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | {row.get('backbone', '-')} | {row.get('frames_per_clip', '-')} | "
              f"{row.get('seconds_per_clip', row.get('skipped'))} | {row.get('demo_top1', '-')} |")
    data = {"machine": machine, "presets": rows}
    replace_via_temp(Path(args.out), lambda tmp: tmp.write_text(json.dumps(data, indent=2)))


if __name__ == "__main__":
    main()
