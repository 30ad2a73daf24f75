"""The demo dataset for the app: generated once, in a child process, with a progress bar."""

from __future__ import annotations

import json
import time
from pathlib import Path

import streamlit as st

from vidcore import settings
from vidcore.data import demo
from vidcore.errors import VidcoreError
from vidcore.views import launch


def _demo_size(out: Path) -> str:
    """The size of the demo in ``out`` (tests point the app at ``tiny``), else
    ``VIDCORE_DEMO_SIZE``, else the full demo."""
    try:
        size = json.loads((out / demo.MARKER).read_text(encoding="utf-8")).get("size")
    except (OSError, ValueError, AttributeError):
        size = settings.demo_size()
    return size if size in demo.SIZES else "demo"


def demo_root() -> str:
    """The demo dataset root (``VIDCORE_DEMO_DIR`` or data/demo), generated once when absent.

    Generation runs in a child process (``vidcore demo-data``) while the page shows its
    progress; clips written so far are kept if the page or the server goes away.

    Raises:
        VidcoreError: the generator failed (its own message, and what to do).
    """
    out = demo.default_demo_dir()
    size = _demo_size(out)
    if not demo.generation_state(out, size)["complete"]:
        _wait_for_demo(out, size)
    return str(out / demo.VIDEO_DIR)


def time_left(made: int, remaining: int, elapsed: float) -> str:
    """``", about 3 min left"`` at the pace so far on this computer ("" for the first 10 s,
    before the pace means anything)."""
    if made <= 0 or elapsed < 10:
        return ""
    seconds = remaining * elapsed / made
    if seconds >= 90:
        return f", about {round(seconds / 60)} min left"
    return f", about {max(1, round(seconds))} s left"


def _wait_for_demo(out: Path, size: str) -> None:
    proc = launch.demo_generation(out, size)
    bar = st.progress(0.0, text="Preparing the demo dataset…")
    start, first = time.monotonic(), demo.generation_state(out, size)["done"]
    while proc.poll() is None:
        state = demo.generation_state(out, size)
        left = time_left(state["done"] - first, state["total"] - state["done"],
                         time.monotonic() - start)
        bar.progress(state["done"] / state["total"],
                     text=f"Generating the demo dataset (only on the first start): "
                          f"{state['done']:,} of {state['total']:,} clips{left}")
        time.sleep(0.5)
    bar.empty()
    if proc.returncode != 0 or not demo.generation_state(out, size)["complete"]:
        reason = launch.demo_log_tail(out).removeprefix("vidcore: error: ").rstrip(". ")
        raise VidcoreError(f"generating the demo dataset in {out} failed "
                           f"({reason or f'exit status {proc.returncode}'}); run "
                           f"`vidcore demo-data` in a terminal to see the details")
