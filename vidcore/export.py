"""Take a model out of vidcore, and bring a bundle back in.

Formats of ``export(run_dir, fmt, out)``:

* ``bundle``: a zip another vidcore imports (``import_bundle``): the head
  (``model.keras`` or ``model.npz``, plus ``scaling.npz``), ``config.json`` (backbone,
  weights and their id, sampler, head: nothing about where or how this machine ran it),
  ``classes.json``, ``report.json`` when evaluated, ``MODEL_CARD.md`` and
  ``LICENSES.md``. The backbone weights are not inside: every vidcore has them, and
  ``weights_id`` proves they are the same; a fine-tuned run's own backbone
  (``backbone.weights.h5``, ``vidcore.models.run_backbone``) is, with its id
  ``backbone_weights_id``, checked on import.
* ``tflite`` / ``savedmodel``: one self-contained model, backbone inside (float32, batch
  norms folded), from raw uint8 frames ``[K, S, S, 3]`` (S: the backbone's input size)
  to the head's own clip probabilities ``[C]`` (a per-frame head: the mean of its frame
  probabilities, the ``mean`` aggregator), temperature-scaled where the run has a fitted
  temperature; a run that averages flips averages each frame's features with its
  mirror's inside.
  ``savedmodel`` is a zip of the SavedModel folder. A program
  needs only the sampler rule (in the model card) and this file.

Import trusts nothing: entries must be flat names from a fixed list (no folders, no
``..``, no links), within size bounds; JSON is parsed, arrays load without pickle,
the Keras model in safe mode; a config or class list that disagrees with the model is
refused with the reason.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from vidcore import model_card, runs
from vidcore.atomic import write_with
from vidcore.calibration import CALIBRATION
from vidcore.errors import InputError, RunError
from vidcore.familiarity import FAMILIARITY
from vidcore.models import run_backbone

log = logging.getLogger(__name__)

FORMATS = ("bundle", "tflite", "savedmodel")
BUNDLE_FORMAT = 1
MANIFEST = "bundle.json"
CARD, LICENSE_NOTES = "MODEL_CARD.md", "LICENSES.md"
# Every name a bundle may hold, and the most bytes each may expand to.
ENTRY_LIMITS = {MANIFEST: 1 << 16, runs.CONFIG: 1 << 16, runs.CLASSES: 1 << 20,
                runs.REPORT: 32 << 20, runs.KERAS_MODEL: 512 << 20,
                runs.LINEAR_MODEL: 512 << 20, runs.SCALING: 64 << 20,
                CALIBRATION: 1 << 16, FAMILIARITY: 128 << 20,  # vidcore.trust: optional
                CARD: 1 << 20, LICENSE_NOTES: 1 << 16,
                run_backbone.WEIGHTS_FILE: 256 << 20}  # a fine-tuned run's own backbone
REQUIRED = (MANIFEST, runs.CONFIG, runs.CLASSES)
MAX_BUNDLE = sum(ENTRY_LIMITS.values())  # bytes of the zip file itself, at most
MAX_RATIO = 200  # a compression ratio above this is a zip bomb, not a model
# The run config keys a bundle carries; the rest (store folder, dataset paths) stay here.
PORTABLE_KEYS = ("dataset", "format", "split", "test_fraction", "split_seed", "backbone",
                 "weights", "sampler", "head", "epochs", "batch_size", "learning_rate",
                 "patience", "val_fraction", "seed", "dropout", "width", "linear_c",
                 "linear_pooling", "linear_root", "feature_scaling", "preset", "flip",
                 "finetune_stages", "finetune_frames")


# ---------------------------------------------------------------- export


def export(run_dir: str | os.PathLike, fmt: str, out: str | os.PathLike) -> Path:
    """Export a run as ``fmt`` (``bundle``, ``tflite`` or ``savedmodel``) to the file ``out``.

    Raises:
        InputError: unknown format, or a run whose backbone weights are a local file.
        RunError: not a run with a model.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; use {', '.join(FORMATS)}")
    run_dir, out = runs.check_run_dir(run_dir), Path(out).expanduser()
    if out.is_dir():
        raise InputError(f"{out} is a folder; give the file to write, e.g. {out}/model.{fmt}")
    data = {"bundle": bundle_bytes, "tflite": tflite_bytes, "savedmodel": savedmodel_bytes}
    payload = data[fmt](run_dir)
    write_with(out, lambda f: f.write(payload))
    return out


def portable_config(run_dir: Path) -> dict:
    """The run's config without machine-specific parts, plus the weights' id.

    Raises:
        InputError: the backbone weights are a local file (not portable by id).
    """
    from vidcore.models.backbones import weights_fingerprint

    config = runs.read_json(run_dir / runs.CONFIG, {})
    weights = config.get("weights", "imagenet")
    if weights not in ("imagenet", None):
        raise InputError(f"run {run_dir} uses the local weights file {weights}; only runs on "
                         "ImageNet (or random) backbone weights can be exported")
    portable = {k: config[k] for k in PORTABLE_KEYS if k in config}
    portable["weights_id"] = weights_fingerprint(config["backbone"], weights)
    if run_backbone.is_fine_tuned(config):
        own = run_backbone.feature_weights(config, run_dir)
        portable["backbone_weights_id"] = weights_fingerprint(config["backbone"], own)
    return portable


def bundle_bytes(run_dir: str | os.PathLike) -> bytes:
    """The bundle zip of a run, in memory (the app offers it as a download)."""
    run_dir = runs.check_run_dir(run_dir)
    config = portable_config(run_dir)
    classes = runs.read_json(run_dir / runs.CLASSES, [])
    report = runs.read_json(run_dir / runs.REPORT)
    texts = {runs.CONFIG: config, runs.CLASSES: classes,
             MANIFEST: {"format": BUNDLE_FORMAT, "made_by": "vidcore", "run": run_dir.name}}
    if isinstance(report, dict):
        texts[runs.REPORT] = _portable_report(report)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, value in texts.items():
            zf.writestr(name, json.dumps(value, indent=2))
        zf.writestr(CARD, model_card.model_card(config, classes, report,
                                                runs.read_status(run_dir)))
        zf.writestr(LICENSE_NOTES, model_card.license_notes(config["backbone"],
                                                            config.get("weights")))
        for name in (runs.KERAS_MODEL, runs.LINEAR_MODEL, runs.SCALING, CALIBRATION,
                     FAMILIARITY, run_backbone.WEIGHTS_FILE):
            if (run_dir / name).is_file():
                zf.write(run_dir / name, name)
    return buffer.getvalue()


def _portable_report(report: dict) -> dict:
    """The report without this machine's paths."""
    return {k: v for k, v in report.items() if k not in ("run_dir", "predictions_csv")}


def frames_model(run_dir: str | os.PathLike, frames: int | None = None):
    """A Keras model from uint8 frames ``[K, S, S, 3]`` to the clip probabilities
    ``[C]``: the float32 backbone with folded batch norms, the feature scaling, the head,
    and the run's temperature (``calibration.json``), so that an export's confidence is
    the calibrated one predict shows.

    Args:
        run_dir: the run.
        frames: fix K (default: the sampler's frame count; any K for an fps sampler).
    """
    import keras

    from vidcore.models.backbones import create_backbone, get_spec
    from vidcore.models.folding import inference_model
    from vidcore.models.loading import load_model

    model = load_model(run_dir)
    spec = model.feature_spec
    size = get_spec(spec.backbone).input_size
    backbone = inference_model(create_backbone(spec.backbone, spec.weights), True, "float32")
    frames = frames or spec.sampler.config().get("frames")
    inputs = keras.Input((size, size, 3), batch_size=frames, dtype="uint8", name="frames")
    feats = _features(backbone, keras.ops.cast(inputs, "float32"), spec.flip)
    probs = _tempered(model.runtime.clip_probabilities(feats), _export_temperature(model))
    return keras.Model(inputs, probs, name="vidcore_clip")


def _features(backbone, frames, flip: bool):
    """Keras ops: the frames' features, averaged with their mirrors' for a run that
    averages flips (as the feature pipeline does for predict)."""
    from keras import ops

    if not flip:
        return backbone(frames)
    return (backbone(frames) + backbone(ops.flip(frames, axis=2))) / 2


def _export_temperature(model) -> float:
    """The run's fitted temperature for the aggregator an export computes (1: none)."""
    from vidcore.calibration import load_calibration, temperature_of

    return temperature_of(load_calibration(model.run_dir), model.runtime.clip_aggregator)


def _tempered(probs, temperature: float):
    """Keras ops: ``softmax(log p / T)``, the calibrated probabilities predict shows."""
    from keras import ops

    from vidcore.calibration import EPS

    if temperature == 1.0:
        return probs
    return ops.softmax(ops.log(ops.maximum(probs, EPS)) / temperature)


def tflite_bytes(run_dir: str | os.PathLike) -> bytes:
    """A float32 TFLite flatbuffer of ``frames_model(run_dir)``."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(frames_model(run_dir))
    try:
        return converter.convert()
    except Exception as err:  # the converter raises bare ConverterError/RuntimeError
        raise RunError(f"cannot convert run {run_dir} to TFLite: {err}") from err


def savedmodel_bytes(run_dir: str | os.PathLike) -> bytes:
    """A zip of the SavedModel folder ``savedmodel/`` of ``frames_model(run_dir)``
    (signature ``serving_default``: ``frames`` -> clip probabilities)."""
    model = frames_model(run_dir)
    with tempfile.TemporaryDirectory(prefix="vidcore-savedmodel-") as tmp:
        folder = Path(tmp) / "savedmodel"
        model.export(str(folder), format="tf_saved_model", verbose=False)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    zf.write(path, str(path.relative_to(Path(tmp))))
    return buffer.getvalue()


# ---------------------------------------------------------------- import


def import_bundle(bundle: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """Check a bundle and add it to the runs folder as a finished run.

    Args:
        bundle: the zip file.
        root: runs folder (default ``runs.default_runs_dir()``).

    Returns:
        The new run directory.

    Raises:
        InputError: the file is not a vidcore bundle, is unsafe, or disagrees with itself
            (the message says which check failed).
    """
    path = Path(bundle).expanduser()
    if not path.is_file():
        raise InputError(f"bundle {path} does not exist; give a .zip made by 'vidcore export'")
    if path.stat().st_size > MAX_BUNDLE:
        raise InputError(f"{path.name}: refused, {path.stat().st_size} bytes is more than a "
                         f"bundle can hold ({MAX_BUNDLE})")
    return import_bundle_bytes(path.read_bytes(), path.name, root)


def import_bundle_bytes(data: bytes, name: str = "bundle.zip",
                        root: str | os.PathLike | None = None) -> Path:
    """``import_bundle`` of bytes in memory (an upload); ``name`` is only for messages."""
    entries = read_entries(data, name)
    root = Path(root) if root else runs.default_runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-import-", dir=root))
    try:
        for entry, payload in entries.items():
            (staging / entry).write_bytes(payload)
        config = check_bundle(staging, name)
        runs.write_status(staging, "finished", imported_from=name)
        target = runs.new_run_dir(f"imported-{config['head']}", root)
        os.replace(staging, target)  # the run appears whole or not at all
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("imported %s as %s", name, target)
    return target


def read_entries(data: bytes, name: str) -> dict[str, bytes]:
    """The checked entries of a bundle zip: known flat names, plain files, bounded sizes.

    Raises:
        InputError: not a zip, or an entry that is unknown, a link, too big or repeated.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InputError(f"{name} is not a zip file; give a bundle made by 'vidcore export "
                         "RUN --format bundle'") from None
    out: dict[str, bytes] = {}
    with zf:
        for info in zf.infolist():
            _check_entry(info, name, out)
            try:
                out[info.filename] = _read_bounded(zf, info)
            # RuntimeError: encrypted; NotImplementedError: unknown compression
            except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError,
                    zlib.error) as err:
                raise InputError(f"{name}: refused, entry {info.filename} cannot be read "
                                 f"({err})") from None
    missing = [n for n in REQUIRED if n not in out]
    if missing:
        raise InputError(f"{name} is not a vidcore bundle: it lacks {', '.join(missing)}")
    return out


def _check_entry(info: zipfile.ZipInfo, name: str, seen: dict) -> None:
    entry = info.filename
    if entry not in ENTRY_LIMITS:
        raise InputError(f"{name}: refused, unexpected entry {entry!r} (a bundle holds only "
                         f"{', '.join(ENTRY_LIMITS)}, no folders)")
    if entry in seen:
        raise InputError(f"{name}: refused, entry {entry} appears twice")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode) or (stat.S_IFMT(mode) and not stat.S_ISREG(mode)):
        raise InputError(f"{name}: refused, entry {entry} is a link or special file")
    limit = ENTRY_LIMITS[entry]
    if info.file_size > limit:
        raise InputError(f"{name}: refused, entry {entry} is {info.file_size} bytes "
                         f"(at most {limit})")
    if info.file_size > MAX_RATIO * max(info.compress_size, 1) + (1 << 16):
        raise InputError(f"{name}: refused, entry {entry} expands {info.file_size} bytes "
                         f"from {info.compress_size} (a zip bomb?)")


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read at most the declared size (+1, to catch a header that lies)."""
    with zf.open(info) as f:
        payload = f.read(info.file_size + 1)
    if len(payload) != info.file_size:
        raise ValueError("its size differs from the one its header declares")
    return payload


def check_bundle(folder: Path, name: str) -> dict:
    """Validate an unpacked bundle: parseable files, known backbone/head/sampler, the same
    backbone weights here, and a model whose shapes match its config and classes.

    Returns:
        The config.

    Raises:
        InputError: the first check that failed, as the reason.
    """
    from vidcore.models.backbones import get_spec, weights_fingerprint
    from vidcore.models.loading import load_model

    config, classes = (runs.read_json(folder / n) for n in (runs.CONFIG, runs.CLASSES))
    if not isinstance(config, dict) or not {"backbone", "head", "sampler"} <= set(config):
        raise InputError(f"{name}: refused, config.json is not a vidcore run config")
    if (not isinstance(classes, list) or len(classes) < 2
            or not all(isinstance(c, str) and c for c in classes)
            or len(set(classes)) != len(classes)):
        raise InputError(f"{name}: refused, classes.json must list 2 or more distinct names")
    if runs.model_file(folder) is None:
        raise InputError(f"{name}: refused, it holds no model.keras or model.npz")
    try:
        spec = get_spec(config["backbone"])
        weights = config.get("weights", "imagenet")
        if weights not in ("imagenet", None):
            raise InputError("its weights are a file path, not a known set")
        if run_backbone.is_fine_tuned(config):
            _check_own_backbone(folder, config, spec.name)
        else:
            local = weights_fingerprint(spec.name, weights)
            if config.get("weights_id") != local:
                raise InputError(f"it was made with {spec.name} weights "
                                 f"{config.get('weights_id')} and this vidcore has {local}; "
                                 "its features would differ")
        model = load_model(folder)
    except (InputError, RunError, KeyError, TypeError, ValueError) as err:
        reason = str(err).replace(str(folder), "the bundle")  # not our staging path
        raise InputError(f"{name}: refused, {reason}") from None
    _check_shapes(model, spec.feature_dim, classes, name)
    return config


def _check_own_backbone(folder: Path, config: dict, backbone: str) -> None:
    """A fine-tuned bundle's backbone file: present, the one its config names, and a
    whole weights file of that backbone (loaded once; an h5 file runs no code)."""
    from vidcore.models.backbones import create_backbone, weights_fingerprint

    path = run_backbone.weights_path(folder)
    if not path.is_file():
        raise InputError(f"it was fine-tuned but holds no {run_backbone.WEIGHTS_FILE}")
    if config.get("backbone_weights_id") != weights_fingerprint(backbone, path):
        raise InputError(f"its {run_backbone.WEIGHTS_FILE} is not the one its config names "
                         "(backbone_weights_id differs)")
    create_backbone(backbone, path)  # WeightsError (an InputError) when it does not fit


def _check_shapes(model, feature_dim: int, classes: list, name: str) -> None:
    probe = np.zeros((2, feature_dim), np.float32)
    if model.input_dim != feature_dim:
        raise InputError(f"{name}: refused, its head takes {model.input_dim} features but "
                         f"backbone {model.config['backbone']} gives {feature_dim}")
    from vidcore.features import VideoFeatures

    try:
        out = model.predict_features(VideoFeatures(probe, np.zeros(2), np.arange(2)))
    except Exception as err:  # a head whose layers do not fit its own inputs
        raise InputError(f"{name}: refused, its model does not run: {err}") from None
    if out.frame_probs.shape[1] != len(classes):
        raise InputError(f"{name}: refused, its model has {out.frame_probs.shape[1]} outputs "
                         f"but classes.json names {len(classes)} classes")

