"""The report of ``benchmarks/compare.py``: its Markdown sections and the targets.

Reads the measurements ``compare.measure`` returns (plain dicts) and the machine's
facts; measures nothing itself.
"""

from __future__ import annotations

import datetime
import os
import platform

import numpy as np

from vidcore import doctor
from vidcore.models import cpu, engines
from vidcore.models.cpu import flags_line
from vidcore.models.precision import cpu_has_bfloat16

TARGETS = {"speedup": 30.0, "of_ceiling": 0.85, "rss_mb": 1500.0, "rss_flat": 1.10,
           "latency_s": 0.1}
# The workload both the measurements and their description use.
LATENCY_SECONDS, LATENCY_FPS, LATENCY_RUNS = 10, 25, 7
UCF_REFERENCE_FRAMES = 73_844  # the tutorial's training set (seed doc)
UCF_SPLIT_CLIPS, UCF_TARGET_MIN = 13_320, 15.0  # all of UCF101 (split 1's train + test)


def slope_mb_per_video(small: dict, big: dict) -> float:
    """Growth of peak RSS per extra video between two runs."""
    return (big["peak_rss_mb"] - small["peak_rss_mb"]) / (big["videos"] - small["videos"])


def table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table (readable as plain text too)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] + [""]


def machine() -> dict:
    """CPU model, cores, library versions, date and load (the machine is shared)."""
    import cv2
    import keras
    import tensorflow as tf

    name = cpu.cpu_info()[0]
    return {"CPU": platform.processor() if name == "unknown" else name,
            "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)",
            "memory": f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.1f} GiB",
            "Python": platform.python_version(), "TensorFlow": tf.__version__,
            "Keras": keras.__version__, "OpenCV": cv2.__version__, "NumPy": np.__version__,
            "bfloat16 instructions (AVX512_BF16 or AMX)": "yes" if cpu_has_bfloat16() else "no",
            "CPU flags that matter here": flags_line(), "ai-edge-litert": _litert_version(),
            "engine chosen (default backbone)": doctor.engine_report()["line"],
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def _litert_version() -> str:
    from importlib import metadata

    return metadata.version("ai-edge-litert") if engines.litert_available() else "absent"


def engines_section(m: dict) -> list[str]:
    """End to end at N on each engine forced, and the demo-clip column."""
    ref, vid = m["scaling"]["runs"]["reference N"], m["scaling"]["runs"]["vidcore N"]
    demo = m["demo"]
    rows = [[f"vidcore default ({vid['engine']} {vid['precision']})", f"{vid['fps']:.1f}",
             f"**{vid['fps'] / ref['fps']:.1f}x**", f"{demo['vidcore']['fps']:.1f}",
             f"**{demo['ratio']:.1f}x**"]]
    for name, r in m["engines"].items():
        rows.append([f"{name} (`{' '.join(f'{k}={v}' for k, v in r['env'].items())}`)",
                     f"{r['fps']:.1f}", f"{r['ratio']:.1f}x", "", ""])
    rows.append(["reference (VGG16, 1 fps, JPEG)", f"{ref['fps']:.2f}", "1x",
                 f"{demo['reference']['fps']:.2f}", "1x"])
    return ["## Engines, end to end, and the demo-clip column", "",
            f"`extract` at N in child processes. Real-length column: the clips of this run "
            f"(best of {vid['repeats']} for the default and the reference, one run for each "
            "forced engine); demo column: N clips of the demo dataset (2-3.5 s), one run "
            f"each. Default choice: {vid['why']}. The forced rows are what a CPU without "
            "bfloat16 would run, measured on **this** CPU, which still has AVX-512 (oneDNN's "
            "float32 is strong here); on a 2-core AVX2-only EPYC, issue 13 measured Lite0 "
            "at 46 frames/s in Keras float32 and 117 in LiteRT float32 (backbone alone).", ""
            ] + table(["pipeline", "frames/s, real-length", "vs reference",
                       "frames/s, demo clips", "vs reference"], rows)


def other_cpus_section() -> list[str]:
    """Figures from another CPU kind, labelled as such (not measured by this script)."""
    rows = [["vidcore / reference, frames/s, 12 real UCF101 clips (before engines)", "12.4x "
             "(10xN: 16.8x)"],
            ["Lite0 backbone alone, Keras float32 folded", "46 frames/s"],
            ["Lite0 backbone alone, TFLite float32 + XNNPACK (what the `litert` engine runs)",
             "117 frames/s, features equal to 1.5e-5, same verdicts"],
            ["cold fresh process (import + load + first verdict), before engines",
             "6.3 + 0.2 + 3.7 = 10.2 s"]]
    return ["## Another CPU kind: 2-core AMD EPYC, AVX2 only (no AVX-512, no bfloat16)", "",
            "Not measured by this script: issue 13's measurement with `compare.py` pointed "
            "at 12 real UCF101 clips (320x240 MPEG-4 Part 2, 6-9 s), before the engine "
            "layer. There `auto` has no bfloat16 candidate and picks between Keras float32 "
            "and LiteRT float32 by measuring; with the backbone-alone figures above it "
            "would pick LiteRT (2.5x). Rerun this script on such a machine for its own "
            "table.", ""] + table(["figure", "measured there"], rows)


def machine_section(info: dict, loads: tuple) -> list[str]:
    """The machine table, with the load average before and after the run."""
    rows = [[k, v] for k, v in info.items()]
    rows.append(["load average (1 min) at start / end", f"{loads[0]:.2f} / {loads[1]:.2f}"])
    return ["## Machine", ""] + table(["", ""], rows)


def backbones_table(b: dict) -> list[str]:
    """Multiply-adds and speed of the two backbones alone: why the speedup is what it is."""
    rows = []
    for name, key, call in (("VGG16 (reference)", "vgg16", "predict on [0, 1] floats"),
                            (f"EfficientNet-Lite0 (vidcore: batch norms folded, "
                             f"{b['precision']})", "lite0", "traced runner, uint8")):
        macs = b[f"{key}_macs"] / 1e9
        rows.append([name, call, f"{macs:.2f} G", f"{b[key]:.1f}", f"{macs * b[key]:.0f}"])
    rows.append(["**Lite0 / VGG16**", "", f"{b['vgg16_macs'] / b['lite0_macs']:.0f}x fewer",
                 f"**{b['lite0'] / b['vgg16']:.1f}x**",
                 f"{b['lite0_macs'] * b['lite0'] / (b['vgg16_macs'] * b['vgg16']):.2f}x"])
    macs = b["lite0_macs"] / 1e9
    for key, name, call in (
            ("float32", "Lite0 folded, float32 (`VIDCORE_PRECISION=float32`)",
             "traced runner, uint8"),
            ("plain", "Lite0 plain float32 Keras model (`fold=False`)", "traced runner, uint8"),
            ("litert", "Lite0 on LiteRT float32, XNNPACK (`VIDCORE_ENGINE=litert`)",
             "interpreter, batch 8")):
        rows.append([name, call, f"{macs:.2f} G", f"{b[key]:.1f}", f"{macs * b[key]:.0f}"])
        rows.append([f"**{key} Lite0 / VGG16**", "", "", f"**{b[key] / b['vgg16']:.1f}x**", ""])
    guards = "; ".join(f"{name}: max abs feature difference {g['max_abs_diff']:.2e}, same "
                       f"demo-model top-1 on the {b['frames'] // 8} clips: {g['same_top1']}"
                       for name, g in b["guards"].items())
    return [f"Backbones alone, same {b['frames']} frames in one process, best of alternating "
            "rounds (multiply-adds counted from the models' conv and dense layers):", ""
            ] + table(["backbone", "call", "multiply-adds/frame", "frames/s", "GMAC/s"], rows) + [
        f"Equivalence guards against the plain float32 Lite0 (features reach about 6): "
        f"{guards}.", ""]


def extraction_section(scaling: dict, backbones: dict) -> list[str]:
    """Reference vs vidcore on the same N clips, and where the reference's time goes."""
    ref, vid = scaling["runs"]["reference N"], scaling["runs"]["vidcore N"]
    rows = [["reference (tutorial)", f"VGG16, weights {ref['weights'].split(' (')[0]}",
             "every frame with id % floor(fps) == 0", ref["videos"], ref["frames"],
             f"{ref['fps']:.2f}", f"{ref['s_per_video']:.3f}", f"{ref['peak_rss_mb']:.0f}"],
            ["vidcore default", f"EfficientNet-Lite0, ImageNet, {backbones['precision']}",
             "8 uniform", vid["videos"],
             vid["frames"], f"{vid['fps']:.1f}", f"{vid['s_per_video']:.3f}",
             f"{vid['peak_rss_mb']:.0f}"],
            ["**vidcore / reference**", "", "", "", "", f"**{vid['fps'] / ref['fps']:.1f}x**",
             f"**{ref['s_per_video'] / vid['s_per_video']:.1f}x faster**",
             f"{vid['peak_rss_mb'] / ref['peak_rss_mb']:.2f}x"]]
    stages = ", ".join(f"{k} {v:.2f} s ({v / ref['seconds']:.0%})"
                       for k, v in ref["stages"].items())
    return ["## Extraction: the reference pipeline against vidcore's default", "",
            f"Same clips; each pipeline in its own child process (peak RSS is its ru_maxrss), "
            f"{ref['repeats']} alternating runs each, the fastest shown (peak RSS: the "
            "highest); building the model and one warm-up call on a full batch are setup, "
            "not timed. frames/s counts frames the backbone embeds (the reference keeps "
            "about one per second, vidcore 8 per clip); "
            "s/video is the like-for-like cost of turning a clip into features.", ""] + table(
        ["pipeline", "backbone", "frames kept", "videos", "frames", "frames/s", "s/video",
         "peak RSS MB"], rows) + [f"Reference stages: {stages}.",
                                   f"Reference VGG16 weights: {ref['weights']}.", ""
                                   ] + backbones_table(backbones)


def ceiling_section(c: dict, videos: int, rounds: int) -> list[str]:
    """vidcore end-to-end against its backbone-only ceiling and decode-only floor."""
    # Each stage alone keeps both cores busy, so they can hardly overlap: to a first
    # approximation their costs per frame add up.
    bound = 1 / (1 / c["ceiling"] + 1 / c["floor"])
    rows = [["decode-only floor (2 workers, one FFmpeg thread per file: vidcore)",
             f"{c['floor']:.1f}", f"{c['floor'] / c['ceiling']:.0%}"],
            ["decode-only floor (2 workers, FFmpeg's own threads per file: OpenCV default)",
             f"{c['floor_ffmpeg_threads']:.1f}", f"{c['floor_ffmpeg_threads'] / c['ceiling']:.0%}"],
            ["backbone-only ceiling (batch 32, frames in memory)", f"{c['ceiling']:.1f}", "100%"],
            ["expected if decode and backbone cannot overlap: 1 / (1/ceiling + 1/floor)",
             f"{bound:.1f}", f"{bound / c['ceiling']:.0%}"],
            ["end-to-end `extract(model=backbone_runner)` (steady state)",
             f"{c['reused']:.1f}", f"{c['reused'] / c['ceiling']:.0%}"],
            ["end-to-end `extract(model=keras_model)` (traces anew in each call)",
             f"{c['keras']:.1f}", f"{c['keras'] / c['ceiling']:.0%}"]]
    g, r = c["guard"], c["resize_guard"]
    guard = (f"Equivalence guard, runner vs Keras model: max abs feature difference "
             f"{g['max_abs_diff']:.2e}, same demo-model top-1 on every clip: {g['same_top1']}. "
             "Resize guard, vidcore's resize (bilinear unless a side shrinks more than 2x) "
             f"vs area averaging: max abs feature difference {r['max_abs_diff']:.2e}, same "
             f"demo-model top-1 on every clip: {r['same_top1']}. Decoding guard, one FFmpeg "
             "thread per file vs its own thread pool: identical frames: "
             f"{c['same_frames_threaded']}.")
    share = (f"End to end reaches {c['reused'] / bound:.0%} of the no-overlap bound. What "
             "separates that bound from the ceiling is decoding's share of the two cores: "
             f"decoding a frame costs {c['ceiling'] / c['floor']:.0%} of embedding it, so the "
             "faster the backbone, the larger that share (with the float32 backbone the "
             "same decoding was a smaller part).")
    return ["## vidcore against its own ceiling and floor", "",
            f"In one process, {videos} videos ({c['frames']} frames), EfficientNet-Lite0, "
            f"best of {rounds} alternating rounds (`benchmarks/extract.py` functions; the "
            "path that traces anew runs in the first round only).", ""
            ] + table(["stage", "frames/s", "of ceiling"], rows) + [share, "", guard, ""]


def scaling_section(scaling: dict) -> list[str]:
    """Peak RSS and frames/s at N and 10xN, and the reference's memory slope."""
    runs = scaling["runs"]
    rows = [[name, r["videos"], r["frames"], f"{r['fps']:.1f}", f"{r['s_per_video']:.3f}",
             f"{r['setup_peak_mb']:.0f}", f"{r['peak_rss_mb']:.0f}"] for name, r in runs.items()]
    ref = slope_mb_per_video(runs["reference N"], runs["reference 10N"])
    vid = slope_mb_per_video(runs["vidcore N"], runs["vidcore 10N"])
    per_frame = ref * runs["reference 10N"]["videos"] / runs["reference 10N"]["frames"]
    notes = [f"Measured slope of peak RSS: reference {ref:.2f} MB per video, "
             f"{per_frame:.2f} MB per kept frame (one float32 224x224x3 frame is 0.60 MB; "
             "the tutorial holds it several times over); vidcore "
             f"{vid:.2f} MB per video. Extrapolated at that slope to the tutorial's "
             f"{UCF_REFERENCE_FRAMES:,} UCF101 training frames, the reference would need "
             f"about {per_frame * UCF_REFERENCE_FRAMES / 1024:.0f} GB."]
    if scaling["cap_note"]:
        notes.append(scaling["cap_note"] + ".")
    return ["## Scaling: N and 10xN videos", "",
            "Each run in a fresh child process; 'setup peak' is the peak RSS after imports "
            "and the setup, before any video.", ""] + table(
        ["run", "videos", "frames", "frames/s", "s/video", "setup peak MB", "peak RSS MB"],
        rows) + notes + [""]


def latency_section(lat: dict) -> list[str]:
    """Upload-to-verdict for a 10 s clip, cold and warm."""
    cold = lat["cold"]
    walls = lat["walls"]
    rows = [["**fresh process: `vidcore predict` on the clip, wall, median of 3**",
             f"**{walls['cli']:.2f}**"],
            ["fresh process: `python -c \"import tensorflow\"`, wall, median of 3",
             f"{walls['import_tf']:.2f}"],
            ["cold in-process (quick start): import vidcore.predict "
             f"(TensorFlow imported: {cold['tensorflow']})", f"{cold['import_s']:.2f}"],
            ["cold: load_model (demo model)", f"{cold['load_s']:.2f}"],
            ["cold: first predict() (loads the LiteRT interpreter)",
             f"{cold['first_predict_s']:.2f}"],
            ["**cold total: load_model + first predict()**",
             f"**{cold['load_s'] + cold['first_predict_s']:.2f}**"],
            ["cold total with the import (a fresh process)",
             f"{cold['import_s'] + cold['load_s'] + cold['first_predict_s']:.2f}"],
            [f"**warm predict() ({lat['engine']}, the app's loaded model), median of "
             f"{LATENCY_RUNS}** (min-max)",
             f"**{lat['warm']:.3f}** ({lat['warm_min']:.3f}-{lat['warm_max']:.3f})"]]
    return ["## Latency: upload to verdict", "",
            f"A {LATENCY_SECONDS} s 320x240 XviD AVI at {LATENCY_FPS} fps (rendered demo "
            "JumpingJack clips back to back) through `vidcore.predict.predict()` with the "
            f"shipped demo model ({lat['frames']} frames sampled).", ""] + table(
        ["step", "seconds"], rows) + [f"Verdict: {lat['label']} (cold run: "
                                      f"{cold['label']}).", ""]


def training_section(t: dict) -> list[str]:
    """Seconds per epoch of the default head, and the reference head for scale."""
    demo, ucf, ref = t["demo"], t["ucf"], t["reference_head"]
    rows = [["default (temporal_conv) via `vidcore.train.train`, demo features",
             f"{demo['clips']} training clips x 8 x 1280", demo["batch"], demo["steps"], "",
             f"{demo['s_per_epoch']:.2f}"],
            ["default (temporal_conv), UCF101-sized random features",
             f"{ucf['clips']:,} clips x 8 x 1280", ucf["batch"], ucf["steps"],
             f"{ucf['first_epoch']:.1f}", f"{ucf['s_per_epoch']:.1f}"],
            ["reference (frame MLP on VGG16 25,088), UCF101 train frames: extrapolated "
             f"from {ref['measured_steps']} measured steps", f"{UCF_REFERENCE_FRAMES:,} frames",
             ref["batch"], ref["steps"], "", f"{ref['s_per_epoch']:.0f}"]]
    return ["## Training: seconds per epoch", ""] + table(
        ["head and data", "size", "batch", "steps/epoch", "first epoch s", "s/epoch"],
        rows) + [f"Demo s/epoch averages epochs 2-{demo['epochs']} from the run's metrics "
                 "(the first epoch traces the graph). The reference preset trains 200 "
                 f"epochs: about {ref['s_per_epoch'] * 200 / 3600:.1f} h on UCF101 here.", ""]


def accuracy_section(a: dict) -> list[str]:
    """Demo-dataset accuracy of both, with how each number was obtained."""
    s, p = a["shipped"], a["proxy"]
    how = (f"all {p['max_epochs']} epochs" if p["patience"] is None else
           f"stopped after {p['patience']} epochs without better val_loss (the preset "
           f"runs {p['max_epochs']})")
    rows = [["vidcore default", f"shipped `weights/demo_model/report.json`, {s['primary']}",
             f"{s['shipped']:.1%}"],
            ["vidcore default", f"fresh evaluation now, {s['primary']}, {s['videos']} clips",
             f"{s['fresh']:.1%}"],
            ["reference recipe, **proxy**",
             f"1 fps, frame MLP, train-max scaling, batch 128, best val_loss, {p['primary']} "
             f"vote, on **EfficientNet-Lite0** features; {how}; ran {p['epochs_run']} "
             f"epochs, best {p['best_epoch']}", f"{p['top1']:.1%}"],
            ["reference as published (VGG16 ImageNet)", "not measured: the ImageNet VGG16 "
             "file is absent here; a random-weight VGG16 would be another recipe, and "
             f"extracting the {a['demo_videos']} demo clips with it would take about "
             f"{a['demo_videos'] * a['reference_s_per_video'] / 60:.0f} min on this machine",
             "n/a"]]
    return ["## Accuracy on the demo dataset (split 1 test list)", ""] + table(
        ["pipeline", "how measured", "top-1"], rows) + [
        "The tutorial reports 44.8% clip accuracy on UCF101 split 1 with VGG16 ImageNet "
        "(seed-pipeline.md); that is another dataset and is not comparable to these rows.", ""]


def targets(scaling: dict, c: dict, lat: dict) -> list[tuple[str, str, bool]]:
    """Each target: its text, the measured value, and whether it is met."""
    runs, t = scaling["runs"], TARGETS
    speedup = runs["vidcore N"]["fps"] / runs["reference N"]["fps"]
    big_speedup = runs["vidcore 10N"]["fps"] / runs["reference 10N"]["fps"]
    alone = c["backbones"]["lite0"] / c["backbones"]["vgg16"]
    small, big = runs["vidcore N"]["peak_rss_mb"], runs["vidcore 10N"]["peak_rss_mb"]
    ucf_min = runs["vidcore 10N"]["s_per_video"] * UCF_SPLIT_CLIPS / 60
    return [
        (f"vidcore default >= {t['speedup']:.0f}x the reference in frames/s (same N clips)",
         f"{speedup:.1f}x (10xN runs: {big_speedup:.1f}x; backbones alone: {alone:.1f}x)",
         speedup >= t["speedup"]),
        (f"vidcore end-to-end >= {t['of_ceiling']:.0%} of its backbone-only ceiling "
         "(steady state)", f"{c['reused'] / c['ceiling']:.0%}",
         c["reused"] / c["ceiling"] >= t["of_ceiling"]),
        (f"UCF101 ({UCF_SPLIT_CLIPS:,} clips) extracted in < {UCF_TARGET_MIN:.0f} min, "
         "extrapolated from the 10xN run's s/video", f"{ucf_min:.1f} min",
         ucf_min < UCF_TARGET_MIN),
        (f"peak RSS of extraction < {t['rss_mb']:.0f} MB", f"{max(small, big):.0f} MB",
         max(small, big) < t["rss_mb"]),
        (f"peak RSS flat from N to 10xN (ratio <= {t['rss_flat']:.2f})", f"{big / small:.2f}",
         big / small <= t["rss_flat"]),
        (f"warm upload-to-verdict for a 10 s clip < {t['latency_s']:.1f} s",
         f"{lat['warm']:.3f} s", lat["warm"] < t["latency_s"]),
        ("fresh-process `vidcore predict` on a 10 s clip <= `python -c \"import tensorflow\"`",
         f"{lat['walls']['cli']:.2f} s vs {lat['walls']['import_tf']:.2f} s",
         lat["walls"]["cli"] <= lat["walls"]["import_tf"]),
    ]


def targets_section(rows: list[tuple[str, str, bool]]) -> list[str]:
    """The targets table with PASS/MISS."""
    return ["## Targets (this 2-core CPU)", ""] + table(
        ["target", "measured", "result"],
        [[text, value, "PASS" if ok else "**MISS**"] for text, value, ok in rows])


def render(m: dict, info: dict, loads: tuple, args, seconds: float) -> str:
    """The whole report as Markdown."""
    verdicts = targets(m["scaling"], m["ceiling"], m["latency"])
    lines = ["# Benchmarks: vidcore against the reference pipeline and the machine's ceiling",
             "", f"Written by `benchmarks/compare.py` ({seconds:.0f} s; "
             f"N = {args.videos} videos: {args.dataset_label}). "
             "The machine is shared and noisy: compare ratios within this run, not absolute "
             "numbers across runs, and only on this machine kind (see the CPU flags). "
             "TFLite int8/float16 figures: `benchmarks/tflite.py`.", ""]
    lines += machine_section(info, loads) + targets_section(verdicts)
    lines += extraction_section(m["scaling"], m["ceiling"]["backbones"])
    lines += engines_section(m)
    lines += ceiling_section(m["ceiling"], args.videos, args.rounds)
    lines += scaling_section(m["scaling"]) + latency_section(m["latency"])
    lines += training_section(m["training"]) + accuracy_section(m["accuracy"])
    lines += other_cpus_section()
    return "\n".join(lines).rstrip() + "\n"
