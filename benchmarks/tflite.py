"""TFLite (XNNPACK) against the Keras tf.function path, for the EfficientNet-Lite0 backbone.

Converts vidcore's Keras Lite0 feature model (and its ImageNet classifier, for a top-1
check) with ``tf.lite.TFLiteConverter`` as float32, with float16 weights and as int8
(calibrated on demo frames of other clips), runs it
with ``tf.lite.Interpreter(num_threads=2)`` at batch 1 and batched, and times it
against the Keras graph call vidcore uses (``vidcore.features.backbone_runner``, which
folds the batch norms into the convs and computes in bfloat16 where the CPU can), the
same in float32, and the plain float32 Keras model (``fold=False``) in the
same run, rounds alternating, on real decoded demo frames. Every other path is checked
for equivalence with the plain Keras model first: max abs difference of the features,
and the same ImageNet top-1 on skimage's chelsea and coffee photos and on the demo
frames. Last,
``vidcore.features.extract`` end to end with vidcore's runner and with TFLite float32
behind the same interface, to see what survives of the gain once decoding shares the
two cores.
Not a test; on a shared machine only the ratios of one run count.

    .venv/bin/python benchmarks/tflite.py [--videos N] [--rounds R] [--batch B]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.extract import dataset_videos  # noqa: E402
from vidcore import features  # noqa: E402
from vidcore.data.sampling import UniformSampler  # noqa: E402
from vidcore.data.video import read_frames  # noqa: E402
from vidcore.features import FeatureSpec, backbone_runner, pipeline  # noqa: E402
from vidcore.models.backbones import create_backbone  # noqa: E402

SIZE = 224
THREADS = 2


def convert(model, float16: bool = False, calibration: np.ndarray | None = None) -> bytes:
    """A TFLite flatbuffer of a Keras model: float32, float16 weights, or (with
    ``calibration`` frames) int8 weights and activations, ranges from those frames."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if float16 or calibration is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if float16:
        converter.target_spec.supported_types = [tf.float16]
    if calibration is not None:
        converter.representative_dataset = lambda: ([f[None].astype(np.float32)]
                                                     for f in calibration)
    # The converter prints every captured variable to stdout: keep the table readable.
    with contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


class TfliteRunner:
    """uint8 frames in, model outputs out, through a TFLite interpreter of one batch size."""

    def __init__(self, blob: bytes, batch: int):
        import tensorflow as tf

        self.blob = blob
        with warnings.catch_warnings():  # tf.lite.Interpreter's deprecation notice
            warnings.simplefilter("ignore")
            self.interp = tf.lite.Interpreter(model_content=blob, num_threads=THREADS)
        self.input = self.interp.get_input_details()[0]["index"]
        self.output = self.interp.get_output_details()[0]["index"]
        self.batch = batch
        self.interp.resize_tensor_input(self.input, [batch, SIZE, SIZE, 3])
        self.interp.allocate_tensors()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Outputs of ``frames``, run ``batch`` at a time (the last batch zero-padded)."""
        out = []
        for i in range(0, len(frames), self.batch):
            chunk = frames[i:i + self.batch].astype(np.float32)
            pad = self.batch - len(chunk)
            if pad:  # resizing would re-plan the graph; padding a tail batch is cheaper
                chunk = np.concatenate([chunk, np.zeros((pad, SIZE, SIZE, 3), np.float32)])
            self.interp.set_tensor(self.input, chunk)
            self.interp.invoke()
            out.append(self.interp.get_tensor(self.output)[:self.batch - pad].copy())
        return np.concatenate(out)


class KerasRunner:
    """vidcore's Keras path (``backbone_runner``: a traced tf.function), ``batch`` at a time;
    ``fold`` as in ``backbone_runner`` (batch norms folded into the convs), ``precision``
    as in ``FeatureSpec`` (``"auto"``: what vidcore picks on this machine)."""

    def __init__(self, model, batch: int, fold: bool = True, precision: str = "auto"):
        self.runner = backbone_runner(FeatureSpec(precision=precision), model, fold=fold)
        self.batch, self.fold, self.precision = batch, fold, precision

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Outputs of ``frames``."""
        return np.concatenate([self.runner(frames[i:i + self.batch])
                               for i in range(0, len(frames), self.batch)])


def demo_frames(videos: int) -> np.ndarray:
    """Real frames: 8 per demo video, decoded and resized as the extractor does."""
    paths = dataset_videos(None, videos)
    return np.concatenate([read_frames(p, UniformSampler(8), size=(SIZE, SIZE)).images
                           for p in paths])


def photos() -> dict[str, np.ndarray]:
    """skimage's chelsea (a cat) and coffee (a cup), centre-cropped and resized to 224."""
    from skimage import data

    out = {}
    for name in ("chelsea", "coffee"):
        img = getattr(data, name)()
        h, w = img.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        crop = img[top:top + side, left:left + side]
        out[name] = cv2.resize(crop, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return out


def frames_per_second(run, frames: np.ndarray) -> float:
    """Frames/s of ``run`` over ``frames``, after one warm-up call."""
    run(frames[:getattr(run, "batch", 1)])
    start = time.perf_counter()
    run(frames)
    return len(frames) / (time.perf_counter() - start)


def equivalence(keras_feats, keras_logits, lite_feats, lite_logits, photos: int) -> dict:
    """How far a TFLite variant is from Keras: features, and classifier top-1 on the
    first ``photos`` images (real photos) and on the rest (demo frames: synthetic, so
    their ImageNet top-1 is often a near tie that any rounding can flip)."""
    same = lite_logits.argmax(1) == keras_logits.argmax(1)
    return {"max_abs_diff": float(np.abs(lite_feats - keras_feats).max()),
            "max_abs_feature": float(np.abs(keras_feats).max()),
            "photos_same_top1": bool(same[:photos].all()),
            "frames_same_top1": float(same[photos:].mean()),
            "top1": lite_logits.argmax(1)[:photos].tolist()}


def variants(feature_model, classifier, batch: int, calibration: np.ndarray) -> dict[str, tuple]:
    """Every path: name -> (feature runner, classifier runner), both ``batch`` at a time.
    The plain Keras model comes first: the others are checked against it. int8 is
    calibrated on ``calibration`` frames (demo frames: the only images here)."""
    out = {f"keras {name}": (KerasRunner(feature_model, batch, fold, precision),
                             KerasRunner(classifier, batch, fold, precision))
           for name, fold, precision in (("plain", False, "float32"),
                                         ("folded f32", True, "float32"),
                                         ("folded", True, "auto"))}
    for precision in ("float32", "float16", "int8"):
        options = {"float16": precision == "float16",
                   "calibration": calibration if precision == "int8" else None}
        start = time.perf_counter()
        blob = convert(feature_model, **options)
        seconds = time.perf_counter() - start
        print(f"converted {precision}: {len(blob) / 1e6:.1f} MB in {seconds:.1f} s")
        out[f"tflite {precision}"] = (TfliteRunner(blob, batch),
                                      TfliteRunner(convert(classifier, **options), batch))
    return out


def timed_runners(paths: dict, batch: int) -> dict:
    """The runners to time: each path at batch 1 and at ``batch``."""
    runners = {}
    for name, (batched, _) in paths.items():
        single = (KerasRunner(batched.runner.model, 1, batched.fold, batched.precision)
                  if isinstance(batched, KerasRunner) else TfliteRunner(batched.blob, 1))
        runners[f"{name} b1"], runners[f"{name} b{batch}"] = single, batched
    return runners


def check_all(paths: dict, frames: np.ndarray) -> None:
    """Print how far each path is from the plain Keras model (features, ImageNet top-1)."""
    pictures = photos()
    images = np.concatenate([np.stack(list(pictures.values())), frames])
    keras_feats, keras_logits = (run(x) for run, x in zip(paths["keras plain"],
                                                          (frames, images), strict=True))
    named = dict(zip(pictures, keras_logits[:2].argmax(1).tolist(), strict=True))
    print(f"Keras ImageNet top-1: {named} (chelsea: 281-285 are cats; coffee: 967 espresso, "
          "968 cup, 504 coffee mug)")
    for name, (embed, classifier) in paths.items():
        if name == "keras plain":
            continue
        eq = equivalence(keras_feats, keras_logits, embed(frames), classifier(images),
                         len(pictures))
        photo = "same" if eq["photos_same_top1"] else "DIFFERENT"
        print(f"{name}: features max abs diff {eq['max_abs_diff']:.2e} "
              f"(features reach {eq['max_abs_feature']:.1f}); photos top-1 {eq['top1']} "
              f"({photo}); demo frames same top-1 {eq['frames_same_top1']:.1%} "
              f"of {len(frames)}")


def time_all(runners: dict, frames: np.ndarray, rounds: int) -> dict[str, list[float]]:
    """Frames/s of each runner in each of ``rounds`` alternating rounds."""
    speeds = {name: [] for name in runners}
    for _ in range(rounds):
        for name, run in runners.items():
            speeds[name].append(frames_per_second(run, frames))
    return speeds


class TfliteBackbone(pipeline._Backbone):
    """What ``extract`` would get if the library ran Lite0 through TFLite: the private
    ``vidcore.features.pipeline._Backbone`` interface (``size`` and ``__call__``), nothing built."""

    def __init__(self, blob: bytes):  # no super().__init__: that would build a Keras model
        self.size, self.model, self.lite = SIZE, None, TfliteRunner(blob, 1)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.lite(batch)


def extract_fps(videos: list, backbone) -> tuple[float, list]:
    """Frames/s of ``vidcore.features.extract`` with ``backbone``, and the stored features."""
    spec = FeatureSpec()
    with tempfile.TemporaryDirectory() as store:
        summary = features.extract(videos, spec, store, model=backbone)
        stored = [features.FeatureStore(store, spec).get(v) for v in videos]
    return summary.frames_per_second, stored


def stored_equivalence(base: list, other: list) -> str:
    """Max abs difference of two stores' features and whether the shipped demo model's
    top-1 agrees on every clip."""
    from vidcore import runs
    from vidcore.predict import load_model

    model = load_model(runs.DEMO_MODEL_DIR)
    diff = max(float(np.abs(a.features.astype(np.float32) - b.features).max())
               for a, b in zip(base, other, strict=True))
    top = [[int(np.argmax(o.clip_probs)) for o in model.predict_many(s)] for s in (base, other)]
    return (f"stored features (float16) differ by at most {diff:.1e}; same demo-model "
            f"top-1 on every clip: {top[0] == top[1]}")


def end_to_end(feature_model, videos: list, rounds: int) -> None:
    """Print extract()'s frames/s with vidcore's runner and with TFLite float32 at batch 1,
    alternating rounds, and the difference of the features they store."""
    backbones = {"vidcore runner": features.backbone_runner(FeatureSpec(), feature_model),
                 "tflite float32 b1": TfliteBackbone(convert(feature_model, float16=False))}
    speeds, stored = {name: [] for name in backbones}, {}
    for _ in range(rounds):
        for name, backbone in backbones.items():
            fps, stored[name] = extract_fps(videos, backbone)
            speeds[name].append(fps)
    print(f"\nend to end, vidcore.features.extract on {len(videos)} demo videos, "
          f"{rounds} alternating rounds; {stored_equivalence(*stored.values())}")
    print(f"{'path':22s} {'best f/s':>9s} {'median f/s':>11s} {'best vs vidcore':>19s}")
    base = max(speeds["vidcore runner"])
    for name, values in speeds.items():
        print(f"{name:22s} {max(values):9.1f} {statistics.median(values):11.1f} "
              f"{max(values) / base:18.2f}x")


def main() -> None:
    """Convert, check, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=12, help="demo videos (8 frames each)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    frames = demo_frames(args.videos)
    feature_model = create_backbone("efficientnet_lite0")
    classifier = create_backbone("efficientnet_lite0", include_classifier=True)
    calibration = demo_frames(args.videos + 8)[len(frames):]  # other clips than the timed ones
    paths = variants(feature_model, classifier, args.batch, calibration)
    check_all(paths, frames)
    speeds = time_all(timed_runners(paths, args.batch), frames, args.rounds)
    base = max(speeds[f"keras folded b{args.batch}"])
    print(f"\n{len(frames)} demo frames, {THREADS} threads, {args.rounds} alternating rounds; "
          "best = the least disturbed round (the machine is shared); 'keras folded' is "
          "what vidcore runs")
    ratio = f"best vs vidcore b{args.batch}"
    print(f"{'path':22s} {'best f/s':>9s} {'median f/s':>11s} {ratio:>19s}")
    for name, values in speeds.items():
        print(f"{name:22s} {max(values):9.1f} {statistics.median(values):11.1f} "
              f"{max(values) / base:18.2f}x")
    end_to_end(feature_model, dataset_videos(None, args.videos), min(args.rounds, 3))


if __name__ == "__main__":
    main()
