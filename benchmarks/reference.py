"""The reference tutorial pipeline (docs: seed-pipeline.md), re-implemented for timing.

Faithful to the tutorial's costs, step by step, over all videos at once:

1. decode every frame with OpenCV; keep ids where ``id % floor(fps) == 0`` and write
   each kept frame to a temporary folder as a JPEG;
2. reload every JPEG at 224x224 (``keras.utils.load_img``), scale to [0, 1] float32,
   append to a list, then stack the list into one array (memory grows with N, and
   the list and the array coexist while stacking, as in the tutorial);
3. ``keras.applications.VGG16(include_top=False)`` ``predict`` on the whole array,
   flattened to 25,088 values and divided by the maximum.

Not vidcore's ``reference`` preset (which reuses vidcore's streaming extractor): this
is the tutorial's own data path, so that vidcore can be timed against it. ImageNet
VGG16 weights only change the numbers, not the time: without them in the Keras cache
it runs with ``weights=None`` and says so.

    .venv/bin/python benchmarks/reference.py [DATASET] [--videos N]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.extract import dataset_videos  # noqa: E402
from vidcore.models.backbones import imagenet_weights_available, keras_cache_dir  # noqa: E402

SIZE = 224
VGG16_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
FEATURE_DIM = 7 * 7 * 512


def vgg16_weights() -> tuple[str | None, str]:
    """The weights argument for VGG16 and a label saying which weights they are."""
    if imagenet_weights_available("vgg16"):
        return str(keras_cache_dir() / VGG16_FILE), "ImageNet"
    return None, "random (weights=None: ImageNet VGG16 file absent; same time, not same output)"


def build_vgg16(weights: str | None):
    """VGG16 without its top, on 224x224 RGB; never downloads (a path or None)."""
    import keras

    return keras.applications.VGG16(include_top=False, weights=weights,
                                    input_shape=(SIZE, SIZE, 3))


def keep_step(fps: float) -> int:
    """``floor(fps)``, the tutorial's modulus; guarded because it divides by zero below 1."""
    return max(1, math.floor(fps)) if math.isfinite(fps) else 1


def write_jpegs(video: Path, out_dir: Path) -> list[Path]:
    """Step 1 for one video: decode every frame, write the kept ones as JPEG files."""
    cap = cv2.VideoCapture(str(video))
    step = keep_step(cap.get(cv2.CAP_PROP_FPS))
    written, frame_id = [], 0
    try:
        while True:
            ok, frame = cap.read()  # the tutorial decodes and converts every frame
            if not ok:
                break
            if frame_id % step == 0:
                path = out_dir / f"{video.stem}_frame{frame_id}.jpg"
                cv2.imwrite(str(path), frame)
                written.append(path)
            frame_id += 1
    finally:
        cap.release()
    return written


def load_images(jpegs: list[Path]) -> np.ndarray:
    """Step 2: every JPEG at 224x224 in [0, 1], appended to a list, then stacked."""
    import keras

    images = []
    for path in jpegs:
        img = keras.utils.img_to_array(keras.utils.load_img(path, target_size=(SIZE, SIZE)))
        images.append(img / 255)
    return np.array(images, dtype=np.float32)


def vgg16_features(model, images: np.ndarray) -> np.ndarray:
    """Step 3: VGG16 conv features of the whole array, flattened, divided by the maximum."""
    feats = model.predict(images, verbose=0).reshape(len(images), FEATURE_DIM)
    return feats / feats.max()


def run(videos: list[Path], model) -> dict:
    """Run the three steps over ``videos``; return frames, stage seconds and total seconds."""
    stages = {}
    with tempfile.TemporaryDirectory(prefix="reference-jpegs-") as tmp:
        start = time.perf_counter()
        jpegs = [p for v in videos for p in write_jpegs(Path(v), Path(tmp))]
        stages["decode + write JPEG"] = time.perf_counter() - start
        mark = time.perf_counter()
        images = load_images(jpegs)
        stages["reload JPEG + stack"] = time.perf_counter() - mark
    mark = time.perf_counter()
    feats = vgg16_features(model, images)
    stages["VGG16 predict"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    return {"videos": len(videos), "frames": len(feats), "seconds": seconds,
            "stages": stages, "feature_shape": list(feats.shape)}


def main() -> None:
    """Time the reference pipeline on N videos of a dataset (the demo dataset by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?")
    parser.add_argument("--videos", type=int, default=10)
    args = parser.parse_args()
    weights, label = vgg16_weights()
    model = build_vgg16(weights)
    result = run(dataset_videos(args.dataset, args.videos), model)
    print(f"reference pipeline, VGG16 weights: {label}")
    print(f"{result['videos']} videos, {result['frames']} frames, features "
          f"{tuple(result['feature_shape'])}: {result['frames'] / result['seconds']:.1f} frames/s, "
          f"{result['seconds'] / result['videos']:.3f} s/video")
    for stage, seconds in result["stages"].items():
        print(f"  {stage:24s} {seconds:7.2f} s  {seconds / result['seconds']:5.0%}")


if __name__ == "__main__":
    main()
