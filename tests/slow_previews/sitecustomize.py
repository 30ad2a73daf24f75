"""Makes the browser previews of some clips slow, in a test server only (tests/web.py's
``slow_previews``): ``VIDCORE_TEST_SLOW_PREVIEWS="StandUp:3"`` delays by 3 s the preview
of every clip whose path holds "StandUp", so a browser test can act while a page waits
for it. Python imports this file at start-up when its folder is on PYTHONPATH."""

import os
import time

_SPEC = os.environ.get("VIDCORE_TEST_SLOW_PREVIEWS", "")
if _SPEC:
    from vidcore.views import webio

    _WORD, _SECONDS = _SPEC.rsplit(":", 1)
    _made = webio.browser_clip

    def _slow_browser_clip(path):
        if _WORD in str(path):
            time.sleep(float(_SECONDS))
        return _made(path)

    # Before vidcore.views.previews is imported: its Previews() binds this default.
    webio.browser_clip = _slow_browser_clip
