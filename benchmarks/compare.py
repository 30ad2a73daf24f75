"""vidcore against the reference pipeline and against the machine's ceiling: one table.

On the same N clips (by default real-length clips, ``benchmarks/clips.py``: 6-9 s,
XviD with and without frequent keyframes and H.264 at 29.97 fps, so decoding costs
what it costs on UCF101; the demo dataset's 2-3.5 s clips give a second column),
each pipeline in its own child
process so that its peak RSS is clean: the reference tutorial pipeline
(``benchmarks/reference.py``: 1 fps, JPEG round trip, VGG16, all frames in memory) and
vidcore's default extraction (the ``default`` preset: EfficientNet-Lite0, 8 uniform
frames, streaming). Then vidcore against its own backbone-only ceiling and decode-only
floor (``benchmarks/extract.py``), scaling from N to 10xN videos, upload-to-verdict
latency of a 10 s clip, training seconds per epoch, accuracy on the demo dataset, and
the targets with PASS/MISS. Training and accuracy always use the demo dataset.
Prints the table and writes it to ``docs/benchmarks.md`` (the report's sections and
targets: ``benchmarks/compare_report.py``). Not a test: the machine is shared and
noisy, so read ratios of one run.

Each engine (``vidcore.models.engines``: the default choice, Keras float32, LiteRT
float32) also runs end to end at N, to show what a CPU without bfloat16 would get
from each on this one (still an AVX-512 CPU: AVX2-only figures come from elsewhere).

    .venv/bin/python benchmarks/compare.py [DATASET] [--videos N] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import clips, reference  # noqa: E402
from benchmarks import extract as ext  # noqa: E402
from benchmarks.compare_report import (  # noqa: E402
    LATENCY_FPS,
    LATENCY_RUNS,
    LATENCY_SECONDS,
    UCF_REFERENCE_FRAMES,
    machine,
    render,
)
from vidcore import features  # noqa: E402
from vidcore.features import FeatureSpec  # noqa: E402
from vidcore.models import engines  # noqa: E402
from vidcore.models.backbones import count_macs  # noqa: E402
from vidcore.presets import get_preset  # noqa: E402

DEFAULT_VIDEOS = 12  # sized so the whole script stays under 10 minutes on 2 shared cores
REFERENCE_BUDGET_S = 90.0  # the reference's 10xN run is capped to about this long
MEMORY_SHARE = 0.5  # ... and to this share of the memory available when it starts
UCF_CLIPS, UCF_FRAMES, UCF_CLASSES, UCF_DIM = 12_000, 8, 101, 1280
VGG_DIM = 25_088
BACKBONE_FRAMES = 32  # frames both backbones embed in the backbone-alone comparison
# Both pipelines batch 32 frames (Keras predict's default, extract's batch_size); the
# first call at a batch size builds oneDNN's kernels for it (0.08 s of 0.2 s for Lite0),
# a one-off that belongs to setup, not to frames/s.
WARM_UP_BATCH = 32
REFERENCE_PATIENCE = 20  # the proxy stops after this many epochs without better val_loss


# ---------------------------------------------------------------- helpers


def default_spec() -> FeatureSpec:
    """The feature spec of the ``default`` preset (backbone, weights, sampler)."""
    values = get_preset("default").values
    return FeatureSpec(values["backbone"], values["weights"], values["sampler"])


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def demo_video_count() -> int:
    """How many videos the demo dataset holds."""
    from vidcore.data.index import load_index

    return len(load_index(demo_root()).records)


def demo_root() -> Path:
    """The demo dataset (generated when absent)."""
    from vidcore.data import demo

    return demo.ensure_demo_dataset(demo.default_demo_dir())


def run_child(*args: str, env: dict | None = None) -> dict:
    """Run this script as a child with ``args`` (and ``env`` added to its environment);
    return the JSON its last line prints."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                         text=True, env=env)
    if out.returncode:
        sys.exit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- child bodies


def child_reference(dataset: str | None, count: int) -> dict:
    """The reference pipeline on ``count`` videos; setup (building VGG16, one warm-up
    predict on one full batch) is not timed."""
    paths = ext.dataset_videos(dataset, count)
    start = time.perf_counter()
    weights, label = reference.vgg16_weights()
    model = reference.build_vgg16(weights)
    model.predict(np.zeros((WARM_UP_BATCH, reference.SIZE, reference.SIZE, 3), np.float32),
                  verbose=0)
    setup, setup_peak = time.perf_counter() - start, peak_rss_mb()
    result = reference.run(paths, model)
    return {**result, "setup_seconds": setup, "setup_peak_mb": setup_peak,
            "peak_rss_mb": peak_rss_mb(), "weights": label}


def child_vidcore(dataset: str | None, count: int) -> dict:
    """``vidcore.features.extract`` on ``count`` videos into a fresh store; setup (building
    the runner, one warm-up call on one full batch) is not timed, as for the reference."""
    spec, paths = default_spec(), ext.dataset_videos(dataset, count)
    start = time.perf_counter()
    runner = features.backbone_runner(spec)
    runner(np.zeros((WARM_UP_BATCH, reference.SIZE, reference.SIZE, 3), np.uint8))
    setup, setup_peak = time.perf_counter() - start, peak_rss_mb()
    with tempfile.TemporaryDirectory() as store:
        summary = features.extract(paths, spec, store, model=runner)
    return {"videos": count, "frames": summary.frames, "seconds": summary.seconds,
            "setup_seconds": setup, "setup_peak_mb": setup_peak, "peak_rss_mb": peak_rss_mb(),
            "engine": runner.engine, "precision": runner.precision,
            "why": runner.choice.reason}


def child_latency(video: str) -> dict:
    """Cold upload-to-verdict in a fresh process, as ``vidcore predict`` runs it (LiteRT's
    cached conversion, numpy head): import, load_model, first predict()."""
    start = time.perf_counter()
    from vidcore import runs
    from vidcore.predict import load_model, predict


    import_s = time.perf_counter() - start
    mark = time.perf_counter()
    model = load_model(runs.DEMO_MODEL_DIR)
    load_s = time.perf_counter() - mark
    mark = time.perf_counter()
    with engines.quick_start():  # as `vidcore predict` runs it
        verdict = predict(model, video)
    first_s = time.perf_counter() - mark
    return {"import_s": import_s, "load_s": load_s, "first_predict_s": first_s,
            "label": verdict.primary_label, "tensorflow": "tensorflow" in sys.modules}


def child_main(args: list[str]) -> None:
    """Dispatch ``--child KIND ...`` and print its JSON result as the last line."""
    kind, rest = args[0], args[1:]
    if kind == "latency":
        result = child_latency(rest[0])
    else:
        body = child_reference if kind == "reference" else child_vidcore
        result = body(rest[1] if len(rest) > 1 else None, int(rest[0]))
    print(json.dumps(result))


# ---------------------------------------------------------------- extraction and scaling


def pipeline_child(kind: str, dataset: str | None, count: int, env: dict | None = None) -> dict:
    """One pipeline on ``count`` videos in a child; frames/s and s/video added."""
    result = run_child(kind, str(count), *([dataset] if dataset else []), env=env)
    result["fps"] = result["frames"] / result["seconds"]
    result["s_per_video"] = result["seconds"] / result["videos"]
    return result


def capped_reference_count(small: dict, wanted: int) -> tuple[int, str]:
    """10xN for the reference, capped by time and memory estimated from its N run."""
    per_video_mb = max(small["peak_rss_mb"] - small["setup_peak_mb"], 1.0) / small["videos"]
    available_mb = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    by_memory = int(MEMORY_SHARE * available_mb / per_video_mb)
    by_time = int(REFERENCE_BUDGET_S / small["s_per_video"])
    count = max(small["videos"] + 1, min(wanted, by_memory, by_time))
    if count >= wanted:
        return wanted, ""
    reason = "time" if by_time <= by_memory else "memory"
    return count, (f"reference 10xN capped at {count} videos by {reason}: from its N run, "
                   f"{small['s_per_video']:.2f} s per video and at most {per_video_mb:.1f} MB "
                   "per video (all its growth over setup, the VGG16 batch included, charged "
                   f"to its videos); budget {REFERENCE_BUDGET_S:.0f} s and {MEMORY_SHARE:.0%} "
                   f"of the {available_mb:.0f} MB available")


def best_of(results: list[dict]) -> dict:
    """The fastest of repeated runs, with the highest peak RSS any of them reached."""
    best = max(results, key=lambda r: r["fps"])
    return {**best, "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "repeats": len(results)}


def scaling_runs(dataset: str | None, n: int, repeats: int) -> dict:
    """Reference and vidcore at N (``repeats`` times, alternating) and 10xN, in children."""
    small = {"reference": [], "vidcore": []}
    for _ in range(repeats):
        for kind, results in small.items():
            results.append(pipeline_child(kind, dataset, n))
    runs = {f"{kind} N": best_of(results) for kind, results in small.items()}
    count, note = capped_reference_count(runs["reference N"], 10 * n)
    runs["reference 10N"] = pipeline_child("reference", dataset, count)
    runs["vidcore 10N"] = pipeline_child("vidcore", dataset, 10 * n)
    return {"runs": runs, "cap_note": note}


ENGINE_RUNS = {  # what a CPU without bfloat16 would run, forced here
    "Keras float32": {"VIDCORE_ENGINE": "keras", "VIDCORE_PRECISION": "float32"},
    "LiteRT float32 (XNNPACK)": {"VIDCORE_ENGINE": "litert"},
}


def engine_runs(dataset: str, n: int, reference_fps: float) -> dict:
    """vidcore end to end at N on each engine forced (children), against the reference."""
    out = {}
    for name, env in ENGINE_RUNS.items():
        result = pipeline_child("vidcore", dataset, n, env)
        out[name] = {**result, "ratio": result["fps"] / reference_fps, "env": env}
    return out


def demo_column(n: int) -> dict:
    """The headline pair again on the demo dataset's short clips (one run each)."""
    runs = {kind: pipeline_child(kind, None, n) for kind in ("reference", "vidcore")}
    return {**runs, "ratio": runs["vidcore"]["fps"] / runs["reference"]["fps"]}


# ---------------------------------------------------------------- vidcore vs its ceiling


def timed_extract(paths, spec: FeatureSpec, runner, reuse: bool) -> tuple[float, list]:
    """Frames/s of ``extract`` into a fresh store, and the features it stored.

    With ``reuse`` extract gets the traced ``runner`` itself (``backbone_runner``);
    otherwise its Keras model, so that extract wraps it anew and traces a fresh
    tf.function inside the timing: the one-off cost of every such call.
    """
    with tempfile.TemporaryDirectory() as store:
        summary = features.extract(paths, spec, store, model=runner if reuse else runner.model)
        stored = [features.FeatureStore(store, spec).get(p) for p in paths]
    return summary.frames_per_second, stored


def equivalence(base: list, other: list, model) -> dict:
    """Max abs difference of two feature sets, and whether the demo model's top-1 agrees."""
    diff = max(float(np.abs(a.features.astype(np.float32) - b.features).max())
               for a, b in zip(base, other, strict=True))
    top = [[int(np.argmax(o.clip_probs)) for o in model.predict_many(s)] for s in (base, other)]
    return {"max_abs_diff": diff, "same_top1": top[0] == top[1]}


def ceiling_runs(paths, spec: FeatureSpec, model, rounds: int) -> dict:
    """Floor, ceiling and end-to-end (runner reused, Keras model passed), best of rounds."""
    runner = features.backbone_runner(spec)
    _, frames = ext.decode_only(paths, spec)
    best = {"floor": 0.0, "floor_ffmpeg_threads": 0.0, "ceiling": 0.0, "reused": 0.0,
            "keras": 0.0}
    stored, same_frames = {}, True
    for _ in range(rounds):
        best["floor"] = max(best["floor"], ext.decode_only(paths, spec)[0])
        fps, threaded = ffmpeg_threads_floor(paths, spec)
        best["floor_ffmpeg_threads"] = max(best["floor_ffmpeg_threads"], fps)
        same_frames &= all(np.array_equal(a.images, b.images)
                           for a, b in zip(frames, threaded, strict=True))
        best["ceiling"] = max(best["ceiling"], ext.backbone_only(frames, runner))
        # Tracing anew costs the same every time: one round of that path is enough.
        for name in ("reused", "keras") if not stored else ("reused",):
            fps, stored[name] = timed_extract(paths, spec, runner, name == "reused")
            best[name] = max(best[name], fps)
    images = np.concatenate([f.images for f in frames])[:BACKBONE_FRAMES]
    return {**best, "frames": sum(len(f) for f in frames),
            "guard": equivalence(stored["reused"], stored["keras"], model),
            "resize_guard": resize_guard(paths, spec, runner, model),
            "same_frames_threaded": same_frames,
            "backbones": backbone_ratio(images, spec, rounds, model)}


def ffmpeg_threads_floor(paths, spec: FeatureSpec) -> tuple[float, list]:
    """The decode-only floor with FFmpeg's own thread pool per file (OpenCV's default)
    instead of vidcore's one decoding thread per file (``video.DECODE_THREADS``), and
    the frames it decoded (to check they are the same)."""
    from vidcore.data import video

    saved, video.DECODE_THREADS = video.DECODE_THREADS, None
    try:
        return ext.decode_only(paths, spec)
    finally:
        video.DECODE_THREADS = saved


def backbone_ratio(frames: np.ndarray, spec: FeatureSpec, rounds: int, demo_model) -> dict:
    """The two backbones alone on the same frames in one process, alternating rounds.

    VGG16 is called as the reference calls it (``predict`` on [0, 1] floats), Lite0 as
    vidcore does (its traced runner on uint8: batch norms folded into the convs, in the
    precision ``spec`` resolves to here), then other Lite0 paths: float32 folded, the
    plain float32 Keras model (``fold=False``, what vidcore ran first) and LiteRT
    float32 with XNNPACK (vidcore's ``litert`` engine). Each is warmed up first. Every
    fast path is guarded against the plain float32 model.
    ``frames`` are whole clips, 8 frames each, in order.
    """
    from dataclasses import replace

    weights, _ = reference.vgg16_weights()
    vgg, runner = reference.build_vgg16(weights), features.backbone_runner(spec)
    exact = replace(spec, precision="float32")
    plain = features.backbone_runner(exact, fold=False)
    levers = {"float32": features.backbone_runner(replace(exact, engine="keras")),
              "plain": plain,
              "litert": features.backbone_runner(replace(exact, engine="litert"))}
    floats = frames.astype(np.float32) / 255
    vgg.predict(floats[:1], verbose=0)
    best = dict.fromkeys(["vgg16", "lite0", *levers], 0.0)
    for _ in range(rounds):
        start = time.perf_counter()
        vgg.predict(floats, verbose=0)
        best["vgg16"] = max(best["vgg16"], len(frames) / (time.perf_counter() - start))
        for name, run in (("lite0", runner), *levers.items()):
            best[name] = max(best[name], ext.backbone_only([_Images(frames)], run))
    base = _as_clips(plain(frames))
    guards = {name: equivalence(base, _as_clips(run(frames)), demo_model)
              for name, run in (("vidcore", runner), ("float32", levers["float32"]),
                                ("litert", levers["litert"]))}
    return {**best, "frames": len(frames), "vgg16_macs": count_macs(vgg),
            "lite0_macs": count_macs(runner.model), "guards": guards,
            "precision": runner.precision}


def resize_guard(paths, spec: FeatureSpec, runner, demo_model) -> dict:
    """vidcore's resize (``vidcore.data.video.resize_frame``: bilinear unless a side
    shrinks more than 2x) against area averaging for every frame, through one runner."""
    import cv2

    from vidcore.data.video import read_frames, resize_frame

    size = (runner.size, runner.size)
    clips = [read_frames(p, spec.sampler) for p in paths]
    feats = {}
    for name, resize in (("area", lambda im: cv2.resize(im, size, interpolation=cv2.INTER_AREA)),
                         ("vidcore", lambda im: resize_frame(im, size))):
        feats[name] = [features.VideoFeatures(runner(np.stack([resize(im) for im in c.images])),
                                              c.timestamps, c.frame_ids) for c in clips]
    return equivalence(feats["area"], feats["vidcore"], demo_model)


def _as_clips(feats: np.ndarray, per_clip: int = 8) -> list:
    """Consecutive rows of ``feats`` as one ``VideoFeatures`` per clip (kept float32, so
    that the guard sees differences below float16's resolution too)."""
    ids = np.arange(per_clip, dtype=np.int64)
    return [features.VideoFeatures(feats[i:i + per_clip], ids / 25.0, ids)
            for i in range(0, len(feats), per_clip)]


class _Images:
    """The one attribute of ``Frames`` that ``extract.backbone_only`` reads."""

    def __init__(self, images: np.ndarray):
        self.images = images


# ---------------------------------------------------------------- latency


def write_test_clip(path: Path) -> Path:
    """A 10 s 320x240 XviD AVI made of rendered demo clips of one class, back to back."""
    import cv2

    from vidcore.data.demo import render_clip

    wanted, parts, clip = LATENCY_SECONDS * LATENCY_FPS, [], 1
    while sum(len(p) for p in parts) < wanted:
        parts.append(render_clip("JumpingJack", 1 + (clip - 1) // 4, 1 + (clip - 1) % 4))
        clip += 1
    frames = np.concatenate(parts)[:wanted]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"XVID"), LATENCY_FPS,
                             (frames.shape[2], frames.shape[1]))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def latency(video: Path) -> dict:
    """Cold (fresh child process) and warm (median of repeated runs) upload-to-verdict."""
    from vidcore import runs
    from vidcore.predict import load_model, predict

    cold = run_child("latency", str(video))
    commands = {"cli": [str(Path(sys.executable).with_name("vidcore")), "predict", str(video)],
                "import_tf": [sys.executable, "-c", "import tensorflow"]}
    walls = {name: [] for name in commands}
    for _ in range(3):  # alternating, so a noisy moment hits both
        for name, command in commands.items():
            mark = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            walls[name].append(time.perf_counter() - mark)
    model = load_model(runs.DEMO_MODEL_DIR)
    predict(model, video)  # builds and traces the backbone once
    times = []
    for _ in range(LATENCY_RUNS):
        start = time.perf_counter()
        verdict = predict(model, video)
        times.append(time.perf_counter() - start)
    return {"cold": cold, "walls": {k: statistics.median(v) for k, v in walls.items()},
            "engine": f"{model.backbone().engine} {model.backbone().precision}",
            "warm": statistics.median(times), "warm_min": min(times),
            "warm_max": max(times), "label": verdict.primary_label,
            "frames": len(verdict.frames)}


# ---------------------------------------------------------------- training


def epoch_timer():
    """A Keras callback whose ``seconds`` list gets each epoch's wall time."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.start = [], 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    return EpochTimer()


def demo_training(epochs: int = 4) -> dict:
    """s/epoch of the default preset through ``vidcore.train.train`` on the demo features.

    Epoch times come from the run's own ``metrics.jsonl`` (elapsed time per epoch
    record); the first epoch also traces the graph, so steady s/epoch averages the rest.
    """
    from vidcore.presets import preset_config
    from vidcore.train import train

    config = preset_config("default", demo_root(), epochs=epochs, patience=epochs)
    with tempfile.TemporaryDirectory() as tmp:
        result = train(config, run_dir=Path(tmp) / "run")
        lines = (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()
    stamps = [r["time"] for r in map(json.loads, lines) if r.get("kind") == "epoch"]
    steps = -(-result.train_videos // config.batch_size)
    return {"clips": result.train_videos, "steps": steps, "batch": config.batch_size,
            "s_per_epoch": float(np.mean(np.diff(stamps))), "epochs": len(stamps)}


def synthetic_training(epochs: int = 2) -> dict:
    """s/epoch of the default head on a UCF101-sized random feature set (12,000 x 8 x 1280)."""
    from vidcore.models import keras_fit
    from vidcore.models.heads import create_head
    from vidcore.models.scaling import Scaling

    values = get_preset("default").values
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((UCF_CLIPS * UCF_FRAMES, UCF_DIM), np.float32).astype(np.float16)
    seqs = np.split(frames, UCF_CLIPS)
    labels = rng.integers(0, UCF_CLASSES, UCF_CLIPS)
    scaling = Scaling.fit("standard", frames)
    model = create_head(values["head"], UCF_DIM, UCF_CLASSES)
    keras_fit.compile_head(model, "temporal", values["learning_rate"])
    batches = keras_fit.ClipBatches(seqs, labels, scaling, values["batch_size"], True)
    timer = epoch_timer()
    model.fit(batches, epochs=epochs, verbose=0, callbacks=[timer])
    return {"clips": UCF_CLIPS, "steps": len(batches), "batch": values["batch_size"],
            "first_epoch": timer.seconds[0], "s_per_epoch": timer.seconds[-1]}


def reference_head_step(steps: int = 8) -> dict:
    """The reference head (frame MLP on 25,088 VGG16 values, batch 128): seconds per step,
    measured on random batches; an epoch of the tutorial's 73,844 frames is extrapolated."""
    import keras

    from vidcore.models import keras_fit
    from vidcore.models.heads import create_head

    values = get_preset("reference").values
    batch = values["batch_size"]
    rng = np.random.default_rng(0)
    x = rng.random((batch, VGG_DIM), np.float32)
    y = rng.integers(0, UCF_CLASSES, batch)
    model = create_head("frame_mlp", VGG_DIM, UCF_CLASSES, dropout=values["dropout"])
    keras_fit.compile_head(model, "frame", values["learning_rate"])
    model.train_on_batch(x, y)  # trace outside the timing
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    per_step = (time.perf_counter() - start) / steps
    epoch_steps = -(-UCF_REFERENCE_FRAMES // batch)
    keras.backend.clear_session()
    return {"per_step": per_step, "steps": epoch_steps, "batch": batch,
            "s_per_epoch": per_step * epoch_steps, "measured_steps": steps}


# ---------------------------------------------------------------- accuracy


def shipped_accuracy() -> dict:
    """The shipped demo model: its report.json, and a fresh evaluation now."""
    from vidcore import runs
    from vidcore.evaluate import evaluate

    shipped = json.loads((runs.DEMO_MODEL_DIR / "report.json").read_text())
    fresh = evaluate(runs.DEMO_MODEL_DIR, dataset=demo_root(), save=False)
    return {"shipped": shipped["aggregators"][shipped["primary"]]["top1"],
            "primary": shipped["primary"], "fresh": fresh.top1,
            "videos": fresh.num_videos}


def reference_proxy_accuracy(full: bool) -> dict:
    """The reference recipe on Lite0 features (VGG16 ImageNet weights are absent here).

    The ``reference`` preset as it is (1 fps, frame MLP 1024-512-256-128, Dropout 0.5,
    train-max scaling, Adam, batch 128, best val_loss kept, majority vote) but with
    EfficientNet-Lite0 features; unless ``full``, training stops after
    ``REFERENCE_PATIENCE`` epochs without a better validation loss instead of running
    all 200 (the kept checkpoint is the same whenever the best epoch comes earlier).
    """
    from vidcore.evaluate import evaluate
    from vidcore.presets import preset_config
    from vidcore.train import train

    patience = None if full else REFERENCE_PATIENCE
    config = preset_config("reference", demo_root(), backbone="efficientnet_lite0",
                           patience=patience)
    with tempfile.TemporaryDirectory() as tmp:
        result = train(config, run_dir=Path(tmp) / "run")
        report = evaluate(Path(tmp) / "run", save=False)
    return {"top1": report.top1, "primary": report.primary, "videos": report.num_videos,
            "epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
            "patience": patience, "max_epochs": config.epochs}


# ---------------------------------------------------------------- main


def step(name: str, fn, *args):
    """Run one section, telling stderr how long it took (the whole script is long)."""
    print(f"[compare] {name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = fn(*args)
    print(f"[compare] {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return result


def measure(args) -> dict:
    """Every measurement, children first (while this process is still small)."""
    from vidcore import runs
    from vidcore.predict import load_model

    out = {"scaling": step("extraction N and 10xN (children)", scaling_runs,
                           args.dataset, args.videos, args.repeats)}
    out["engines"] = step("engines forced, N (children)", engine_runs, args.dataset,
                          args.videos, out["scaling"]["runs"]["reference N"]["fps"])
    out["demo"] = step("demo clips, N (children)", demo_column, args.videos)
    paths, spec = ext.dataset_videos(args.dataset, args.videos), default_spec()
    demo_model = load_model(runs.DEMO_MODEL_DIR)
    out["ceiling"] = step("ceiling and floor", ceiling_runs, paths, spec, demo_model,
                          args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_test_clip(Path(tmp) / "clip_10s.avi")
        out["latency"] = step("latency", latency, clip)
    out["training"] = {"demo": step("training on demo features", demo_training),
                       "ucf": step("training on UCF101-sized features", synthetic_training),
                       "reference_head": step("reference head steps", reference_head_step)}
    out["accuracy"] = {"shipped": step("accuracy: demo model", shipped_accuracy),
                       "proxy": step("accuracy: reference proxy", reference_proxy_accuracy,
                                     args.full_reference_training),
                       "demo_videos": demo_video_count(),
                       "reference_s_per_video": out["scaling"]["runs"]["reference 10N"][
                           "s_per_video"]}
    return out


def main() -> None:
    """Parse options, measure everything, print the report and write it."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child_main(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", help="dataset folder (default: the demo dataset)")
    parser.add_argument("--videos", type=int, default=DEFAULT_VIDEOS, help="N")
    parser.add_argument("--repeats", type=int, default=2,
                        help="alternating child runs of each pipeline at N (best kept)")
    # 2 and 2 keep the run near 10 minutes on real-length clips on 2 shared cores
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the in-process sections")
    parser.add_argument("--full-reference-training", action="store_true",
                        help="train the reference proxy all 200 epochs (slow)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    args.dataset_label = args.dataset or clips.describe()
    if args.dataset is None:  # 10xN clips: the scaling runs take that many
        args.dataset = str(clips.ensure_clips(10 * args.videos))
    start, first_load = time.perf_counter(), os.getloadavg()[0]
    measured = measure(args)
    info = machine()
    report = render(measured, info, (first_load, os.getloadavg()[0]), args,
                    time.perf_counter() - start)
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
