"""Clips and frames on a page: players fed by the preview worker, the sampled-frame strip.

Clips and frames go to the page as ``data:`` URLs (``webio.data_url``), never as
Streamlit media files, which an interrupted run drops while the browser still shows
them (issue 28's /media 404s). A player whose preview is not made yet is a
placeholder with a note; app.py calls ``finish_players`` once the page is drawn,
which fills the placeholders as the worker finishes them. No fragment polls and
nothing reruns the page: a widget change simply starts the next run (Streamlit stops
this one at its next update), which can leave nothing behind at a stale place of the
page (issue 28's blank page).
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from vidcore.errors import VidcoreError
from vidcore.spaces import confine
from vidcore.views import previews, webio
from webapp.boundary import guard
from webapp.caches import cached_thumbnails, clip_label, mtime_ns, run_index
from webapp.dataset_choice import current_sampler, sampler_caption

PREVIEWS = previews.Previews()  # one per server process: every session shares its conversions
WAIT_SECONDS = 120  # a page run waits at most this long for its players' previews
POLL_SECONDS = 0.25
CONVERTING = ":material/hourglass_top: Converting the clip for the browser"
# The players of this script run still waiting: each run of a session runs in its
# runner's thread, and app.py starts every run with a fresh list.
_RUN = threading.local()


def show_media(data: bytes, mime: str, start_time: int = 0) -> None:
    """A ``webio.browser_clip`` result: a video player (from ``start_time`` s), or the
    animated GIF fallback; inline (a ``data:`` URL, see the module docstring). Streamlit
    sends an element this large to a browser once; later runs send only its hash."""
    url = webio.data_url(data, mime)
    if mime.startswith("video/"):
        st.video(url, start_time=start_time)
    else:
        st.image(url, caption="Animated GIF: this server cannot encode a browser video format.")


def frame(image) -> str:
    """An RGB frame for ``st.image``: inline as JPEG (see the module docstring)."""
    return webio.jpeg_url(image)


def play_clip(path, start_time: int = 0) -> None:
    """Play a clip once its browser preview is made; the page never waits for the transcode.

    Signed in, only a clip of the own space or the shared data plays (a run's report
    names its clips, and a run may have come in a bundle from anywhere).
    """
    with guard("Playing the clip", stop=False):
        confine.check_readable(path, "a clip")
        _play(lambda: PREVIEWS.get(path), start_time)


def play_upload(name: str, data: bytes, start_time: int = 0) -> None:
    """``play_clip`` for uploaded bytes (the worker converts a private copy; keyed by content)."""
    digest = hashlib.sha256(data).hexdigest()
    _play(lambda: PREVIEWS.get_upload(digest, data, name), start_time)


def _play(get: Callable, start_time: int) -> None:
    with guard("Playing the clip", stop=False):
        ready = get()
        if ready is not None:
            show_media(*ready, start_time=start_time)
            return
        slot = st.empty()
        slot.caption(f"{CONVERTING}…")
        _pending().append((slot, get, start_time))


def _pending() -> list:
    if not hasattr(_RUN, "players"):
        _RUN.players = []
    return _RUN.players


def start_players() -> None:
    """Forget the players of an earlier run of this thread (app.py, before the page)."""
    _RUN.players = []


def finish_players(timeout: float = WAIT_SECONDS) -> None:
    """Fill this run's waiting players as their previews are made (app.py, after the page).

    The note of each counts the seconds: each update is also a point where Streamlit
    stops the run at once when a widget has changed.
    """
    waiting, _RUN.players = _pending(), []
    start, shown = time.monotonic(), 0
    while waiting and time.monotonic() - start < timeout:
        waiting = [player for player in waiting if not _filled(*player)]
        if waiting:
            time.sleep(POLL_SECONDS)
            if int(time.monotonic() - start) > shown:
                shown = int(time.monotonic() - start)
                for slot, *_ in waiting:
                    slot.caption(f"{CONVERTING}… {shown} s")
    for slot, *_ in waiting:
        slot.caption(":material/hourglass_disabled: The preview is not ready yet; "
                     "pick the clip again in a while.")


def fragment(body: Callable, **options) -> Callable:
    """``st.fragment(body)`` for a part of a page that plays clips.

    In a full page run app.py fills the players after the page; a fragment's own rerun
    (a click inside it) never reaches that step, so the fragment fills its players
    itself at its end.
    """
    def run(*args, **kwargs):
        body(*args, **kwargs)
        ctx = get_script_run_ctx()
        if ctx is not None and ctx.fragment_ids_this_run:
            finish_players()

    functools.update_wrapper(run, body)
    return st.fragment(run, **options)


def _filled(slot, get: Callable, start_time: int) -> bool:
    """Show the preview in its slot once it is made (or why it cannot be); True when done."""
    try:
        ready = get()
    except VidcoreError as err:
        slot.error(f"**Playing the clip failed.** {str(err).rstrip('. ')}.",
                   icon=":material/error:")
        return True
    if ready is None:
        return False
    with slot.container():
        show_media(*ready, start_time=start_time)
    return True


def sampled_frames(path, max_shown: int = 32,
                   where: str = "change it on the Dataset page") -> None:
    """The strip of frames the sidebar's sampler takes from a video, with their times."""
    with guard("Reading the sampled frames", stop=False):
        confine.check_readable(path, "a clip")
        sampler = current_sampler()
        thumbs = cached_thumbnails(str(path), mtime_ns(path), sampler.config())
        st.markdown(f"**Sampled frames** · {sampler_caption()} ({where})")
        captions = [f"{t:.2f} s · frame {i}" for t, i in
                    zip(thumbs["timestamps"], thumbs["frame_ids"], strict=True)]
        st.image([frame(i) for i in thumbs["images"][:max_shown]], caption=captions[:max_shown],
                 width=124)
        if len(captions) > max_shown:
            st.caption(f"Showing the first {max_shown} of {len(captions)} sampled frames.")


def run_dataset_root(run_dir: str, split: int):
    """The root folder of the dataset a run was trained on (None when it cannot be read)."""
    from vidcore import runs

    config = runs.read_json(f"{run_dir}/{runs.CONFIG}", {}) or {}
    try:
        return run_index(config, split).root
    except VidcoreError:
        return None


def play_run_clip(run_dir: str, split: int, rel_path: str | None) -> None:
    """Play a clip named relative to the dataset a run was trained on, under the name its
    user knows it by."""
    if not rel_path:
        return
    root = run_dataset_root(run_dir, split)
    if root is None:
        st.caption(f"{rel_path}: the run's dataset cannot be opened here.")
        return
    play_clip(root / rel_path)
    st.caption(clip_label(root, rel_path))
