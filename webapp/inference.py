"""The server's inference: one lane for every session's predictions, and the warm-up of
the model Predict opens on, started once per server process (app.py).

On a 2-core machine a dozen predictions at once only thrash (each backbone runs its own
threads); queued in one lane each verdict takes its own fraction of a second, in turn.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading

import numpy as np

from vidcore.models.loading import model_version
from webapp.caches import cached_model

log = logging.getLogger(__name__)

LANE = threading.BoundedSemaphore(1)  # one prediction at a time per server process
# Held by the warm-up from its start until the backbone's first use here is over, so a
# prediction meanwhile does not convert the same weights at the same time.
_FIRST_USE_LOCK = threading.Lock()
_STARTED = threading.Event()
_START_LOCK = threading.Lock()
# A backbone's one-off first use on a machine (converting its weights and a LiteRT copy,
# measuring the engines: minutes on 2 busy cores) needs TensorFlow. It runs in a child
# process: TensorFlow in the server stays for good, and Streamlit then clears Keras and
# collects garbage after every script run (a second of CPU per run, issue 28).
_FIRST_USE = ("import json, sys; from vidcore.features import FeatureSpec; "
              "from vidcore.models import engines; "
              "engines.choose(FeatureSpec.from_dict(json.loads(sys.argv[1])))")


def warm_up() -> None:
    """Get the model Predict opens on ready in a daemon thread, once per process, so that
    the first visitor's verdict waits for none of that."""
    with _START_LOCK:
        if _STARTED.is_set():
            return
        _STARTED.set()
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    thread = threading.Thread(target=_warm, name="vidcore-warm-up", daemon=True)
    # The first visitor's script context: the cached model it loads is then an ordinary
    # cache entry, without Streamlit's "missing ScriptRunContext" warning in the log.
    add_script_run_ctx(thread, get_script_run_ctx())
    thread.start()


def first_use_done() -> None:
    """Wait while the warm-up is still doing the backbone's one-off first use."""
    with _FIRST_USE_LOCK:
        pass


def _warm() -> None:
    with _FIRST_USE_LOCK:
        runner = _first_use()
    if runner is not None:
        with LANE:
            runner(np.zeros((1, runner.size, runner.size, 3), np.uint8))


def _first_use():
    """Load Predict's model and get its backbone's first use done; its runner when the
    engine is LiteRT (None otherwise, or when anything failed)."""
    from vidcore import runs
    from vidcore.models import engines

    try:
        run_dir = str(runs.resolve_model_dir())
        model = cached_model(run_dir, model_version(run_dir))
        spec = model.feature_spec
        if engines.first_use_due(spec):
            subprocess.run([sys.executable, "-c", _FIRST_USE, json.dumps(spec.to_dict())],
                           check=False, stdin=subprocess.DEVNULL, capture_output=True)
        if engines.choose(spec, measure=False).engine != "litert":
            # Keras would bring TensorFlow into the server for good, and with it the
            # cost per script run above; the first prediction pays its own start instead.
            return None
        log.info("warming up the model of %s", run_dir)
        return model.backbone()
    except Exception:  # the first visitor meets the same problem, with its message
        log.warning("warming up the model failed", exc_info=True)
        return None
