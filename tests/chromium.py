"""Debian's chromium for browser tests: its path, or a skip (a failure when CI=true)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.screenshots import CHROMIUM


def require_chromium() -> str:
    """``CHROMIUM`` when it is installed; else skip the test, or fail it under CI=true
    (a browser test that silently skips in CI would hide a loss)."""
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (install Debian's chromium: make browser)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM
