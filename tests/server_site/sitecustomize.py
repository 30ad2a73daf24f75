"""Patches of a test server's functions (tests/web.py ``held_calls``, ``slow_previews``).

Python imports this file at start-up when its folder is on PYTHONPATH: in a test's
server and in every Python child it starts, before the app imports anything (so a
default argument bound at import, such as ``Previews``' ``browser_clip``, is the patch).

- ``VIDCORE_TEST_HOLDS="module:function=FLAG;..."``: a call waits while the file FLAG
  exists (2 minutes at most), so a test acts in a wait that is certain.
- ``VIDCORE_TEST_DELAYS="module:function=WORD:SECONDS;..."``: a call whose arguments
  mention WORD first waits SECONDS (e.g. some clips' previews are slow).
"""

import os
import sys
import time

HOLDS, DELAYS = "VIDCORE_TEST_HOLDS", "VIDCORE_TEST_DELAYS"
LONGEST_HOLD_S = 120


def _entries(variable):
    for entry in filter(None, os.environ.get(variable, "").split(";")):
        target, argument = entry.split("=", 1)
        module, name = target.split(":")
        __import__(module)
        yield sys.modules[module], name, argument


def _patch(module, name, wait):
    real = getattr(module, name)

    def patched(*args, **kwargs):
        wait(args, kwargs)
        return real(*args, **kwargs)

    setattr(module, name, patched)


def _while_exists(flag):
    def wait(args, kwargs):
        deadline = time.monotonic() + LONGEST_HOLD_S
        while os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.05)
    return wait


def _delay_when_mentioned(spec):
    word, seconds = spec.rsplit(":", 1)

    def wait(args, kwargs):
        if any(word in str(value) for value in (*args, *kwargs.values())):
            time.sleep(float(seconds))
    return wait


for _module, _name, _flag in _entries(HOLDS):
    _patch(_module, _name, _while_exists(_flag))
for _module, _name, _spec in _entries(DELAYS):
    _patch(_module, _name, _delay_when_mentioned(_spec))
