"""Keep TensorFlow's C++ start-up lines off the terminal of a CLI command.

TensorFlow 2.2x writes absl/oneDNN lines ("All log messages before
absl::InitializeLog() ...", "oneDNN custom operations are on ...") straight to file
descriptor 2 while it loads, before ``TF_CPP_MIN_LOG_LEVEL`` is honoured; they would
come before the one-line error a user needs to read. An import hook runs the first
``import tensorflow`` with descriptor 2 pointed at /dev/null; Python errors of the
import still surface as usual.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for a while (C++ code writes there directly)."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


class _QuietLoader:
    """Wraps a module loader so that executing the module runs with stderr silenced."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        """Delegate to the real loader."""
        return self._loader.create_module(spec)

    def exec_module(self, module):
        """Run the real loader's ``exec_module`` with native stderr silenced."""
        with _native_stderr_silenced():
            self._loader.exec_module(module)

    def __getattr__(self, name):  # resources, is_package ...: the real loader answers
        return getattr(self._loader, name)


class _QuietTensorFlow:
    """Import hook: the first ``import tensorflow`` runs with native stderr silenced."""

    def find_spec(self, name, path=None, target=None):
        """Find TensorFlow with the other finders and wrap its loader; ignore the rest."""
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once; and so the real finders answer below
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow_startup() -> None:
    """Silence TensorFlow's C++ start-up chatter in this process (the CLI only)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # its later C++ INFO/WARNING lines
    from vidcore.settings import debug

    if debug() or "tensorflow" in sys.modules:
        return
    if not any(isinstance(f, _QuietTensorFlow) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlow())
