"""The LiteRT conversions of backbones, cached and guarded.

Converted models are cached under ``<weights dir>/engines/`` with a sidecar JSON that
records their sha256, the weights they came from, the TensorFlow version that converted
them and the guard they passed (max abs feature difference against the Keras float32
copy on rendered demo frames, at most ``GUARD_MAX_ABS``); a missing or damaged file is
rebuilt, as the converted weights are.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from importlib import metadata
from pathlib import Path

import numpy as np

from vidcore import settings
from vidcore.atomic import replace_via_temp
from vidcore.errors import WeightsError
from vidcore.models.runners import KerasRunner, LiteRTRunner

log = logging.getLogger(__name__)

# Bump when the conversion changes: older converted files are rebuilt.
CONVERSION_FORMAT = 1
# float32 LiteRT reorders float32 sums: Lite0 features (up to about 5) agreed to 1.5e-5.
# A converter that broke something would be off by far more than this.
GUARD_MAX_ABS = 1e-3
GUARD_FRAMES = 32  # rendered frames the guard (and the engine measurement) runs on


def library_version(*names: str) -> str:
    """The installed version of the first of ``names`` present, else ``"none"``."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "none"


@functools.cache
def guard_frames(size: int = 224, count: int = GUARD_FRAMES) -> np.ndarray:
    """``count`` rendered demo frames at ``size``: real pictures (figures, scenes, edges)
    for the guard and the measurement, deterministic, no file needed."""
    import cv2

    from vidcore.data.render import DEMO_CLASSES, render_clip

    frames = []
    for i in range(count):
        clip = render_clip(DEMO_CLASSES[i % len(DEMO_CLASSES)], 1 + i % 25, 1, size="tiny")
        frames.append(cv2.resize(clip[(7 * i) % len(clip)], (size, size),
                                 interpolation=cv2.INTER_AREA))
    return np.stack(frames)


def converted_path(backbone: str, weights_id: str, weights=None) -> Path:
    """Where the LiteRT float32 conversion of a backbone's weights is cached: beside a
    run's own backbone file (``weights``, per run: it goes with the run), else under
    the engines folder."""
    from vidcore.models.run_backbone import litert_path

    return litert_path(weights) or settings.engines_dir() / f"{backbone}__{weights_id}__f32.tflite"


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _expected(weights_id: str) -> dict:
    return {"format": CONVERSION_FORMAT, "weights_id": weights_id}


def cached_conversion(path: Path, weights_id: str) -> dict | None:
    """The sidecar record of a valid cached conversion, or None (missing, damaged, or
    from other weights or an older conversion)."""
    from vidcore.models.efficientnet_lite import sha256_file

    try:
        record = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or any(record.get(k) != v
                                           for k, v in _expected(weights_id).items()):
        return None
    try:
        return record if record.get("sha256") == sha256_file(path) else None
    except OSError:
        return None


def convert(model, path: Path, weights_id: str, size: int) -> dict:
    """Convert a float32 Keras backbone to LiteRT, guard it, and cache it at ``path``.

    The folded float32 copy is converted (what Keras runs, less the batch norms); its
    features on ``guard_frames`` must match the Keras float32 copy's within
    ``GUARD_MAX_ABS`` or nothing is cached and the engine is refused.

    Returns:
        The sidecar record (sha256, guard figures, TensorFlow version).

    Raises:
        WeightsError: the guard failed, or the folder cannot be written.
    """
    import io

    import tensorflow as tf

    keras_runner = KerasRunner(model, size, fold=True, precision="float32")
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_runner.model)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints every captured variable
        blob = converter.convert()
    try:
        replace_via_temp(path, lambda tmp: tmp.write_bytes(blob))
        frames = guard_frames(size)
        diff = float(np.abs(LiteRTRunner(path)(frames) - keras_runner(frames)).max())
        if diff > GUARD_MAX_ABS:
            path.unlink(missing_ok=True)
            raise WeightsError(f"the LiteRT conversion of this backbone differs from Keras "
                               f"float32 by {diff:.2e} (bound {GUARD_MAX_ABS:g}): set "
                               f"{settings.ENGINE}=keras")
        from vidcore.models.efficientnet_lite import sha256_file

        record = {**_expected(weights_id), "sha256": sha256_file(path), "file": path.name,
                  "guard_max_abs_diff": diff, "guard_frames": len(frames),
                  "tensorflow": library_version("tensorflow-cpu", "tensorflow")}
        replace_via_temp(_sidecar(path), lambda tmp: tmp.write_text(json.dumps(record,
                                                                               indent=2)))
    except OSError as err:
        raise WeightsError(f"cannot write the converted model to {path.parent}: "
                           f"{err.strerror}; set {settings.WEIGHTS_DIR} to a writable "
                           "folder") from err
    log.info("converted %s for LiteRT (guard: max abs difference %.2e)", path.name, diff)
    return record


def litert_runner(spec, size: int, build_model) -> LiteRTRunner:
    """A LiteRT runner for ``spec``, converting (with ``build_model()``, which imports
    TensorFlow) only when the cache is missing or damaged."""
    from vidcore.models.backbones import weights_fingerprint

    weights_id = weights_fingerprint(spec.backbone, spec.weights)
    path = converted_path(spec.backbone, weights_id, spec.weights)
    if cached_conversion(path, weights_id) is None:
        if path.exists():
            log.warning("converted model %s is missing or damaged; rebuilding", path)
        convert(build_model(), path, weights_id, size)
    return LiteRTRunner(path)
