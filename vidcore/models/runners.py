"""Backbone runners: uint8 frames ``(B, S, S, 3)`` in, float32 features ``(B, D)`` out.

``KerasRunner`` runs the folded Keras copy behind a compiled graph call, in float32 or
bfloat16; ``LiteRTRunner`` runs a converted float32 model on LiteRT's interpreter
(XNNPACK on CPU). Which one a backbone gets is ``vidcore.models.engines``' choice; the
conversion and its cache are ``vidcore.models.litert_cache``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import numpy as np

from vidcore import settings

LITERT_BATCH = 8  # frames per interpreter call (the tail of a call is zero-padded)


def threads() -> int:
    """CPU threads this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


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

    return contextlib.nullcontext() if settings.debug() else _native_stderr_silenced()
