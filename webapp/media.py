"""Clips and frames on a page: players fed by the preview worker, the sampled-frame strip."""

from __future__ import annotations

import streamlit as st

from vidcore.views import previews
from webapp.boundary import guard
from webapp.caches import cached_index, cached_thumbnails, mtime_ns
from webapp.dataset_choice import current_sampler, sampler_caption


def show_media(data: bytes, mime: str, start_time: int = 0) -> None:
    """A ``webio.browser_clip`` result: a video player (from ``start_time`` s), or the
    animated GIF fallback."""
    if mime.startswith("video/"):
        st.video(data, format=mime, start_time=start_time)
    else:
        st.image(data, caption="Animated GIF: this server cannot encode a browser video format.")


PREVIEWS = previews.Previews()  # one per server process: every session shares its conversions


PREVIEW_POLL_SECONDS = 0.5


def play_clip(path) -> None:
    """Play a clip once its browser preview is made; the page never waits for the transcode.

    The conversion runs in ``PREVIEWS``'s worker; until it is done a small fragment
    polls it and reruns the page once the preview is there.
    """
    with guard("Playing the clip", stop=False):
        ready = PREVIEWS.get(path)
        if ready is not None:
            show_media(*ready)
        else:
            st.fragment(_wait_for_preview, run_every=PREVIEW_POLL_SECONDS)(str(path))


def _wait_for_preview(path: str) -> None:
    with guard("Playing the clip", stop=False):
        if PREVIEWS.get(path) is not None:
            st.rerun()  # the whole page: its next run shows the player in place
        st.caption(":material/hourglass_top: Converting the clip for the browser…")


def sampled_frames(path, max_shown: int = 32,
                   where: str = "change it on the Dataset page") -> None:
    """The strip of frames the sidebar's sampler takes from a video, with their times."""
    with guard("Reading the sampled frames", stop=False):
        sampler = current_sampler()
        thumbs = cached_thumbnails(str(path), mtime_ns(path), sampler.config())
        st.markdown(f"**Sampled frames** · {sampler_caption()} ({where})")
        captions = [f"{t:.2f} s · frame {i}" for t, i in
                    zip(thumbs["timestamps"], thumbs["frame_ids"], strict=True)]
        st.image(thumbs["images"][:max_shown], caption=captions[:max_shown], width=124)
        if len(captions) > max_shown:
            st.caption(f"Showing the first {max_shown} of {len(captions)} sampled frames.")


def play_run_clip(run_dir: str, split: int, rel_path: str | None) -> None:
    """Play a clip named relative to the dataset a run was trained on."""
    from vidcore import runs

    if not rel_path:
        return
    config = runs.read_json(f"{run_dir}/{runs.CONFIG}", {}) or {}
    with guard("Finding the clip", stop=False):
        index = cached_index(runs.dataset_of(config), int(split), config.get("format", "auto"),
                             config.get("splits"), config.get("test_fraction", 0.3),
                             config.get("split_seed", 0))
        play_clip(index.root / rel_path)
        st.caption(rel_path)
