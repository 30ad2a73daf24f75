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

This module chooses and builds; the runners are ``vidcore.models.runners``, and the
guarded, cached LiteRT conversions ``vidcore.models.litert_cache``.

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
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata

import numpy as np

from vidcore import settings
from vidcore.atomic import replace_via_temp
from vidcore.errors import InputError
from vidcore.models import cpu
from vidcore.models import precision as precisions
from vidcore.models.litert_cache import (
    cached_conversion,
    converted_path,
    guard_frames,
    library_version,
    litert_runner,
)
from vidcore.models.run_backbone import base_weights
from vidcore.models.runners import KerasRunner, threads

log = logging.getLogger(__name__)

ENGINES = settings.ENGINES
ENV_VAR = settings.ENGINE
CHOICES_FILE = "choices.json"
MEASURE_CALLS = 3


@dataclass(frozen=True)
class Choice:
    """The engine a backbone runs on here, and why.

    Attributes:
        engine: ``"keras"`` or ``"litert"``.
        precision: what it computes in: ``"float32"`` or ``"bfloat16"`` (``"unsettled"``
            for a pending choice whose candidates differ).
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


@functools.cache
def cpu_key(cpuinfo: str = cpu.CPUINFO) -> str:
    """What about this CPU decides which engine is fastest: model name, usable threads
    and the vector/matrix flags among ``cpu.FLAGS`` (Linux; elsewhere just threads)."""
    name = cpu.cpu_info(cpuinfo)[0]
    return f"{name}|{threads()} threads|{' '.join(cpu.cpu_flags(cpuinfo))}"


def machine_key(backbone: str, weights_id: str, precision: str) -> str:
    """The key of a remembered choice: CPU, library versions, backbone and weights."""
    versions = (f"tf {library_version('tensorflow-cpu', 'tensorflow')}"
                f"|keras {library_version('keras')}|litert {library_version('ai-edge-litert')}")
    return f"{cpu_key()}|{versions}|{backbone}@{weights_id}|precision {precision}"


# ---------------------------------------------------------------- choosing


def candidates(engine: str, precision: str, convertible: bool,
               forced: str = "auto") -> list[tuple[str, str]]:
    """The (engine, precision) pairs eligible for a request.

    Args:
        engine: ``"auto"``, ``"keras"`` or ``"litert"`` (after ``requested``).
        precision: what ``vidcore.models.precision.resolve`` gave for Keras:
            ``"float32"`` or ``"bfloat16"``.
        convertible: whether the backbone can go to LiteRT here (ImageNet or file
            weights, no model handed in, ai-edge-litert installed).
        forced: the precision asked for by name (``precision.requested``): bfloat16 so
            asked is honoured, and only Keras computes it.

    Raises:
        InputError: ``litert`` asked where it cannot run.
    """
    keras = [("keras", precision)]
    if engine == "keras" or forced == "bfloat16":
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


def weights_ready(spec) -> bool:
    """True unless ``spec``'s backbone weights still need converting (a cheap file check:
    the conversion imports TensorFlow, which a web server would then keep for good)."""
    from vidcore.models import efficientnet_lite
    from vidcore.models.backbones import get_spec

    backbone = get_spec(spec.backbone)
    if spec.weights != "imagenet" or backbone.keras_weights_file is not None:
        return True
    name = efficientnet_lite.variant(backbone.name).weights_file_name
    return (settings.weights_dir() / name).is_file()


def first_use_due(spec) -> bool:
    """True while ``spec``'s one-off first use here is still to come: converting the
    weights or measuring the engines (both need TensorFlow; minutes on a small machine)."""
    return not weights_ready(spec) or choose(spec, measure=False).source == "pending"


def _converted(spec) -> bool:
    from vidcore.models.backbones import weights_fingerprint

    weights_id = weights_fingerprint(spec.backbone, spec.weights)
    path = converted_path(spec.backbone, weights_id, spec.weights)
    return cached_conversion(path, weights_id) is not None


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
    pairs = candidates(engine, keras_precision, spec.weights is not None and litert_available(),
                       forced_precision)
    if engine == "auto" and _quick_start.get() and ("litert", "float32") in pairs \
            and _converted(spec):
        return Choice("litert", "float32", "quick start", QUICK_START_REASON)
    if len(pairs) == 1:
        return Choice(*pairs[0], *_single_reason(spec, engine, forced_precision))
    with _CHOOSE_LOCK:
        return _remembered_or_measured(spec, pairs, keras_precision, measure)


def _single_reason(spec, engine: str, forced_precision: str) -> tuple[str, str]:
    if engine != "auto":
        forced = settings.engine() == engine and spec.engine == "auto"
        return "override", f"{ENV_VAR}={engine}" if forced else f"engine {engine} pinned"
    if forced_precision == "bfloat16":
        return "only", "bfloat16 asked for: only Keras computes it"
    if spec.weights is None:
        return "only", "random weights: nothing stable to convert, so Keras"
    return "only", "ai-edge-litert is not installed, so Keras"


def label(pair: tuple[str, str]) -> str:
    """``"keras bfloat16"``: how a candidate is named in figures."""
    return f"{pair[0]} {pair[1]}"


def _remembered_or_measured(spec, pairs, keras_precision: str, measure: bool) -> Choice:
    from vidcore.models.backbones import weights_fingerprint

    # A run's own backbone runs as fast as the weights it started from: their choice.
    speed_id = weights_fingerprint(spec.backbone, base_weights(spec.weights))
    key = machine_key(spec.backbone, speed_id, keras_precision)
    known = read_choices().get(key)
    names = {label(p): p for p in pairs}
    if isinstance(known, dict) and known.get("winner") in names:
        engine, precision = names[known["winner"]]
        return Choice(engine, precision, "remembered", _measured_reason(known["figures"]),
                      known["figures"])
    if not measure:
        return Choice("auto", _settled_precision(pairs), "pending",
                      f"measured on the backbone's first use here: {' vs '.join(names)}")
    figures, runners = _measure(spec, pairs)
    figures = {name: round(fps, 1) for name, fps in figures.items()}
    winner = max(figures, key=figures.get)
    if winner in runners:
        _MEASURED[_spec_key(spec)] = (winner, runners[winner])  # the next build takes it
    remember(key, {"winner": winner, "figures": figures, "measured_at": time.time()})
    engine, precision = names[winner]
    return Choice(engine, precision, "measured", _measured_reason(figures), figures)


def _settled_precision(pairs) -> str:
    """The precision every candidate computes in, or ``"unsettled"`` when they differ
    (the measurement decides it)."""
    precisions = {precision for _, precision in pairs}
    return precisions.pop() if len(precisions) == 1 else "unsettled"


def _measured_reason(figures: dict) -> str:
    ranked = sorted(figures.items(), key=lambda kv: -kv[1])
    text = ", ".join(f"{name} {fps:.0f} frames/s" for name, fps in ranked)
    return f"fastest measured on this machine: {text}"


def describe(choice: Choice) -> str:
    """One line for people: ``keras bfloat16 (fastest measured ...)``."""
    what = "to be chosen" if choice.engine == "auto" else f"{choice.engine} {choice.precision}"
    return f"{what} ({choice.reason})"


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
