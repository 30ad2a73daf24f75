"""Where a backbone runs: TensorFlow/Keras, or LiteRT with XNNPACK, picked per machine.

Engines (each a callable: uint8 frames ``(B, S, S, 3)`` in, float32 ``(B, D)`` out):

- ``keras``: the folded inference copy (``vidcore.models.folding``) behind a compiled
  ``tf.function``, in the precision ``vidcore.models.precision`` resolves (bfloat16
  where the CPU computes it natively, else float32).
- ``litert``: the same folded float32 model converted once with TensorFlow's
  ``TFLiteConverter`` and run by ``ai_edge_litert``'s interpreter, whose default CPU
  delegate is XNNPACK. On a 2-core AVX2 CPU without bfloat16 it ran Lite0 at 117
  frames/s against Keras float32's 46 (issue 13's measurement), with features equal to
  1.5e-5. It computes in float32 only, and needs no TensorFlow once converted.

Converted models are cached under ``<weights dir>/engines/`` with a sidecar JSON that
records their sha256, the weights they came from, the TensorFlow version that converted
them and the guard they passed (max abs feature difference against the Keras float32
copy on rendered demo frames, at most ``GUARD_MAX_ABS``); a missing or damaged file is
rebuilt, as the converted weights are.

``"auto"`` measures each eligible engine on a few batches of rendered frames the first
time a backbone is used on a machine and remembers the fastest in
``<weights dir>/engines/choices.json``, keyed by the CPU (model name, thread count,
relevant flags), the TensorFlow, Keras and ai-edge-litert versions, and the backbone
with its weights id. ``$VIDCORE_ENGINE`` (``keras``, ``litert`` or ``auto``) overrides.
Random weights (tests) and a Keras model handed in by the caller always run on Keras:
there is nothing stable to convert and cache.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from vidcore import settings
from vidcore.atomic import replace_via_temp
from vidcore.errors import InputError, WeightsError
from vidcore.models import precision as precisions

log = logging.getLogger(__name__)

ENGINES = settings.ENGINES
ENV_VAR = settings.ENGINE
CHOICES_FILE = "choices.json"
# Bump when the conversion changes: older converted files are rebuilt.
CONVERSION_FORMAT = 1
# float32 LiteRT reorders float32 sums: Lite0 features (up to about 5) agreed to 1.5e-5.
# A converter that broke something would be off by far more than this.
GUARD_MAX_ABS = 1e-3
MEASURE_BATCH, MEASURE_CALLS = 32, 3
LITERT_BATCH = 8  # frames per interpreter call (the tail of a call is zero-padded)
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16",
             "amx_bf16", "amx_tile", "avx_vnni", "neon", "asimd")


@dataclass(frozen=True)
class Choice:
    """The engine a backbone runs on here, and why.

    Attributes:
        engine: ``"keras"`` or ``"litert"``.
        precision: what it computes in: ``"float32"`` or ``"bfloat16"``.
        source: ``"measured"`` (now), ``"remembered"`` (an earlier measurement on this
            machine key), ``"override"`` (``$VIDCORE_ENGINE`` or a pinned spec) or
            ``"only"`` (one engine was eligible).
        reason: one line for people.
        figures: frames/s per measured candidate (``"keras bfloat16": 310.0``...).
    """

    engine: str
    precision: str
    source: str
    reason: str
    figures: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return asdict(self)


# ---------------------------------------------------------------- requests


def check(engine: str) -> str:
    """``engine`` if it is one of ``ENGINES``; else an InputError naming them."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)} "
                         f"(in {ENV_VAR} or the feature spec)")
    return engine


def requested(engine: str = "auto") -> str:
    """The engine asked for: ``engine`` unless it is ``"auto"`` and ``$VIDCORE_ENGINE``
    names one (a bad value there is an InputError that names the variable)."""
    if check(engine) != "auto":
        return engine
    return settings.engine()


def litert_available() -> bool:
    """True when the ``ai-edge-litert`` package is installed."""
    try:
        metadata.version("ai-edge-litert")
    except metadata.PackageNotFoundError:
        return False
    return True


def _version(*names: str) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "none"


@functools.cache
def cpu_key(cpuinfo: str = "/proc/cpuinfo") -> str:
    """What about this CPU decides which engine is fastest: model name, usable threads
    and the vector/matrix flags among ``CPU_FLAGS`` (Linux; elsewhere just threads)."""
    name, flags = "unknown", set()
    try:
        text = Path(cpuinfo).read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and name == "unknown":
            name = value.strip()
        elif key.strip() in ("flags", "Features") and not flags:
            flags = set(value.split())
    return f"{name}|{threads()} threads|{' '.join(f for f in CPU_FLAGS if f in flags)}"


def threads() -> int:
    """CPU threads this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_key(backbone: str, weights_id: str, precision: str) -> str:
    """The key of a remembered choice: CPU, library versions, backbone and weights."""
    versions = (f"tf {_version('tensorflow-cpu', 'tensorflow')}|keras {_version('keras')}"
                f"|litert {_version('ai-edge-litert')}")
    return f"{cpu_key()}|{versions}|{backbone}@{weights_id}|precision {precision}"


# ---------------------------------------------------------------- choosing


def candidates(engine: str, precision: str, convertible: bool) -> list[tuple[str, str]]:
    """The (engine, precision) pairs eligible for a request.

    Args:
        engine: ``"auto"``, ``"keras"`` or ``"litert"`` (after ``requested``).
        precision: what ``vidcore.models.precision.resolve`` gave for Keras, and
            whether it was forced: ``"float32"`` or ``"bfloat16"``.
        convertible: whether the backbone can go to LiteRT here (ImageNet or file
            weights, no model handed in, ai-edge-litert installed).

    Raises:
        InputError: ``litert`` asked where it cannot run.
    """
    keras = [("keras", precision)]
    if engine == "keras":
        return keras
    if engine == "litert" and not convertible:
        raise InputError("engine litert needs ai-edge-litert installed and a backbone with "
                         f"fixed weights (not random ones): install it or set {ENV_VAR}=keras")
    if not convertible:
        return keras
    litert = [("litert", "float32")]
    return litert if engine == "litert" else keras + litert


_CHOOSE_LOCK = threading.Lock()  # two first uses at once measure once
# Set only inside ``quick_start()``: a context, so an in-process CLI call (tests, a
# notebook) cannot leave it on for later extractions in the same process.
_quick_start = contextvars.ContextVar("vidcore_engine_quick_start", default=False)
QUICK_START_REASON = ("one clip in a fresh process: the cached LiteRT conversion needs no "
                      "TensorFlow import, which costs more than the backbone does on a clip")


@contextlib.contextmanager
def quick_start():
    """For one-shot commands (``vidcore predict``): inside this context, where ``"auto"``
    would decide and a guarded LiteRT conversion is already cached, run LiteRT, so the
    process never imports TensorFlow. Its float32 features match Keras float32 to ~1e-5;
    a one-clip verdict stores nothing, so no store folder mixes them."""
    token = _quick_start.set(True)
    try:
        yield
    finally:
        _quick_start.reset(token)


def _converted(spec) -> bool:
    from vidcore.models.backbones import weights_fingerprint

    weights_id = weights_fingerprint(spec.backbone, spec.weights)
    return cached_conversion(converted_path(spec.backbone, weights_id), weights_id) is not None


def choose(spec, measure: bool = True) -> Choice:
    """The engine and precision ``spec`` (a ``FeatureSpec``) runs on here.

    Cheap unless a measurement is due (first use of a backbone on a machine key). With
    ``measure=False`` a due measurement is not run: the choice comes back with engine
    ``"auto"`` and source ``"pending"`` (for reports that must stay quick).

    Raises:
        InputError: a bad engine or precision, or an impossible combination
            (LiteRT computes in float32 only).
    """
    from vidcore.models.backbones import get_spec

    engine = requested(getattr(spec, "engine", "auto"))
    forced_precision = precisions.requested(spec.precision)
    if engine == "litert" and forced_precision == "bfloat16":
        raise InputError("engine litert computes in float32 only: unset VIDCORE_PRECISION "
                         f"or set {ENV_VAR}=keras for bfloat16")
    keras_precision = precisions.resolve(spec.precision, get_spec(spec.backbone).bfloat16)
    if engine == "litert":
        keras_precision = "float32"
    pairs = candidates(engine, keras_precision, spec.weights is not None and litert_available())
    if engine == "auto" and _quick_start.get() and ("litert", "float32") in pairs \
            and forced_precision != "bfloat16" and _converted(spec):
        return Choice("litert", "float32", "quick start", QUICK_START_REASON)
    if len(pairs) == 1:
        return Choice(*pairs[0], *_single_reason(spec, engine))
    with _CHOOSE_LOCK:
        return _remembered_or_measured(spec, pairs, keras_precision, measure)


def _single_reason(spec, engine: str) -> tuple[str, str]:
    if engine != "auto":
        forced = settings.engine() == engine and spec.engine == "auto"
        return "override", f"{ENV_VAR}={engine}" if forced else f"engine {engine} pinned"
    if spec.weights is None:
        return "only", "random weights: nothing stable to convert, so Keras"
    return "only", "ai-edge-litert is not installed, so Keras"


def label(pair: tuple[str, str]) -> str:
    """``"keras bfloat16"``: how a candidate is named in figures."""
    return f"{pair[0]} {pair[1]}"


def _remembered_or_measured(spec, pairs, keras_precision: str, measure: bool) -> Choice:
    from vidcore.models.backbones import weights_fingerprint

    key = machine_key(spec.backbone, weights_fingerprint(spec.backbone, spec.weights),
                      keras_precision)
    known = read_choices().get(key)
    names = {label(p): p for p in pairs}
    if isinstance(known, dict) and known.get("winner") in names:
        engine, precision = names[known["winner"]]
        return Choice(engine, precision, "remembered", _measured_reason(known["figures"]),
                      known["figures"])
    if not measure:
        return Choice("auto", keras_precision, "pending", "measured on the backbone's first "
                      f"use here: {' vs '.join(names)}")
    figures, runners = _measure(spec, pairs)
    figures = {name: round(fps, 1) for name, fps in figures.items()}
    winner = max(figures, key=figures.get)
    if winner in runners:
        _MEASURED[_spec_key(spec)] = (winner, runners[winner])  # the next build takes it
    remember(key, {"winner": winner, "figures": figures, "measured_at": time.time()})
    engine, precision = names[winner]
    return Choice(engine, precision, "measured", _measured_reason(figures), figures)


def _measured_reason(figures: dict) -> str:
    ranked = sorted(figures.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{name} {fps:.0f} frames/s" for name, fps in ranked)
    return f"fastest measured on this machine: {text}"


def describe(choice: Choice) -> str:
    """One line for people: ``keras bfloat16 (fastest measured ...)``."""
    what = "to be chosen" if choice.engine == "auto" else f"{choice.engine} {choice.precision}"
    return f"{what} ({choice.reason})"


def default_report() -> dict:
    """The default backbone's engine on this machine, without measuring (doctor, Home):
    ``{"backbone", "engine", "precision", "source", "reason", "figures", "line"}``."""
    from vidcore.features import FeatureSpec

    spec = FeatureSpec()
    try:
        choice = choose(spec, measure=False)
    except (InputError, WeightsError) as err:
        return {"backbone": spec.backbone, "engine": None, "precision": None,
                "source": "error", "reason": str(err), "figures": {}, "line": str(err)}
    return {"backbone": spec.backbone, **choice.to_dict(), "line": describe(choice)}


# ---------------------------------------------------------------- remembered choices


def read_choices() -> dict:
    """Every remembered choice (an unreadable file reads as none: it is re-measured)."""
    try:
        data = json.loads((settings.engines_dir() / CHOICES_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(key: str, record: dict) -> None:
    """Add one choice to the file (atomically; a failed write only costs a re-measure)."""
    data = {**read_choices(), key: record}
    text = json.dumps(data, indent=2, sort_keys=True)
    try:
        replace_via_temp(settings.engines_dir() / CHOICES_FILE, lambda tmp: tmp.write_text(text))
    except OSError as err:
        log.warning("cannot remember the engine choice in %s: %s", settings.engines_dir(), err)


def measure_runners(runners: dict, frames: np.ndarray, calls: int = MEASURE_CALLS) -> dict:
    """Best frames/s of each runner over ``calls`` calls on ``frames``, after a warm-up
    call each (oneDNN and XNNPACK prepare their kernels on the first call); candidates
    alternate so that a noisy moment hits all of them."""
    for run in runners.values():
        run(frames)
    best = dict.fromkeys(runners, 0.0)
    for _ in range(calls):
        for name, run in runners.items():
            start = time.perf_counter()
            run(frames)
            best[name] = max(best[name], len(frames) / (time.perf_counter() - start))
    return best


@functools.cache
def guard_frames(size: int = 224, count: int = MEASURE_BATCH) -> np.ndarray:
    """``count`` rendered demo frames at ``size``: real pictures (figures, scenes, edges)
    for the guard and the measurement, deterministic, no file needed."""
    import cv2

    from vidcore.data.demo import DEMO_CLASSES, render_clip

    frames = []
    for i in range(count):
        clip = render_clip(DEMO_CLASSES[i % len(DEMO_CLASSES)], 1 + i % 25, 1, size="tiny")
        frames.append(cv2.resize(clip[(7 * i) % len(clip)], (size, size),
                                 interpolation=cv2.INTER_AREA))
    return np.stack(frames)


# ---------------------------------------------------------------- Keras


class KerasRunner:
    """A Keras backbone copy (folded, in ``precision``) behind a compiled graph call.

    ``tf.function`` calls are thread-safe, so one runner serves every thread.
    """

    engine = "keras"

    def __init__(self, model, size: int, fold: bool = True, precision: str = "float32"):
        import tensorflow as tf

        from vidcore.models.folding import inference_model

        self.precision = precision
        self.model = inference_model(model, fold, precision)
        # A compiled graph call is 1.5-2x faster than eager or model.predict on CPU;
        # the None batch dimension keeps one trace for full and partial batches.
        sig = [tf.TensorSpec([None, size, size, 3], tf.uint8)]
        self._infer = tf.function(
            lambda x: tf.cast(self.model(x, training=False), tf.float32),
            input_signature=sig, reduce_retracing=True)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Features of a batch of uint8 frames."""
        return self._infer(batch).numpy()


# ---------------------------------------------------------------- LiteRT


class LiteRTRunner:
    """A converted float32 backbone on LiteRT's interpreter (XNNPACK on CPU).

    An interpreter holds its tensors and must not be entered by two threads at once, so
    calls take a lock: XNNPACK already spreads one call over every core, so threads
    waiting their turn lose nothing on a small machine, and the app's sessions share
    one runner safely. Frames go in ``batch`` at a time, the last chunk zero-padded
    (resizing the input re-plans the graph).
    """

    engine = "litert"
    precision = "float32"
    model = None  # no Keras model behind it

    def __init__(self, path: Path, batch: int = LITERT_BATCH, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.path, self.batch = path, batch
        self._lock = threading.Lock()
        # It announces its XNNPACK delegate on descriptor 2 (C++); keep CLI stderr clean.
        with _quiet_native_stderr():
            self._interp = Interpreter(model_path=str(path),
                                       num_threads=num_threads or threads())
            detail = self._interp.get_input_details()[0]
            self._input, self._shape = detail["index"], list(detail["shape"])
            self._output = self._interp.get_output_details()[0]["index"]
            self._interp.resize_tensor_input(self._input, [batch, *self._shape[1:]])
            self._interp.allocate_tensors()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Features of a batch of uint8 frames, float32."""
        out = []
        with self._lock:
            for i in range(0, len(frames), self.batch):
                chunk = frames[i:i + self.batch].astype(np.float32)
                pad = self.batch - len(chunk)
                if pad:
                    chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]),
                                                            np.float32)])
                self._interp.set_tensor(self._input, chunk)
                self._interp.invoke()
                out.append(self._interp.get_tensor(self._output)[:len(chunk) - pad].copy())
        return np.concatenate(out)


def _quiet_native_stderr():
    from vidcore.quiet_tf import _native_stderr_silenced

    return contextlib.nullcontext() if settings.debug() else \
        _native_stderr_silenced()


def converted_path(backbone: str, weights_id: str) -> Path:
    """Where the LiteRT float32 conversion of a backbone's weights is cached."""
    return settings.engines_dir() / f"{backbone}__{weights_id}__f32.tflite"


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
                               f"{ENV_VAR}=keras")
        from vidcore.models.efficientnet_lite import sha256_file

        record = {**_expected(weights_id), "sha256": sha256_file(path), "file": path.name,
                  "guard_max_abs_diff": diff, "guard_frames": len(frames),
                  "tensorflow": _version("tensorflow-cpu", "tensorflow")}
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
    path = converted_path(spec.backbone, weights_id)
    if cached_conversion(path, weights_id) is None:
        if path.exists():
            log.warning("converted model %s is missing or damaged; rebuilding", path)
        convert(build_model(), path, weights_id, size)
    return LiteRTRunner(path)


# ---------------------------------------------------------------- building


# The winner's runner built while measuring, handed to the next build (built once).
_MEASURED: dict = {}


def _spec_key(spec) -> tuple:
    return (spec.backbone, str(spec.weights))


def _measure(spec, pairs) -> tuple[dict, dict]:
    """Frames/s of each candidate on this machine (a few batches of guard frames), and
    the runners built for it."""
    from vidcore.models.backbones import get_spec

    size = get_spec(spec.backbone).input_size
    log.info("measuring engines for %s: %s", spec.backbone, ", ".join(map(label, pairs)))
    runners = {label(p): build(spec, *p) for p in pairs}
    return measure_runners(runners, guard_frames(size)), runners


def build(spec, engine: str, precision: str, model=None, fold: bool = True):
    """A runner of ``spec``'s backbone on ``engine`` in ``precision``.

    Args:
        spec: backbone and weights.
        engine: ``"keras"`` or ``"litert"``.
        precision: for Keras, ``"float32"`` or ``"bfloat16"``; LiteRT is float32.
        model: an already built Keras backbone (Keras engine only).
        fold: fold batch norms (Keras engine; ``False``: the plain model).
    """
    from vidcore.models.backbones import create_backbone, get_spec

    size = get_spec(spec.backbone).input_size
    if model is None and fold:
        winner, ready = _MEASURED.pop(_spec_key(spec), (None, None))
        if winner == label((engine, precision)):
            return ready
    if engine == "litert":
        return litert_runner(spec, size, lambda: create_backbone(spec.backbone, spec.weights))
    model = model if model is not None else create_backbone(spec.backbone, spec.weights)
    return KerasRunner(model, size, fold, precision)
