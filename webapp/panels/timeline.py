"""The Predict page's timeline of a long clip: a band of segments, probabilities over
time, and a segment picker that plays the clip from the segment's start.

Streamlit-aware, used by one page, but big enough to live beside it rather than in it
(app_pages/predict.py stays short; other pages never import this).
"""

from __future__ import annotations

import hashlib

import streamlit as st

from vidcore.models.loading import model_version
from vidcore.stream import window_plan
from vidcore.timeline import timeline
from vidcore.views import charts, stream_tables, webio
from webapp import caches
from webapp.boundary import guard
from webapp.inference import LANE, first_use_done

START = "timeline-start"  # {"clip": id, "time": seconds}: where the player starts
PICK = "timeline-pick"


def clip_id(path: str | None, data: bytes | None) -> str:
    """A stable id of the clip on the page (its content for uploads, else its path)."""
    if data is not None:
        return hashlib.sha256(data).hexdigest()
    return f"{path}:{caches.mtime_ns(path)}"


def start_time(clip: str) -> int:
    """Where the player should start for this clip: the chosen segment's start, else 0."""
    chosen = st.session_state.get(START) or {}
    return int(chosen.get("time", 0)) if chosen.get("clip") == clip else 0


@st.cache_data(max_entries=8, show_spinner="Classifying every window of the clip…")
def _timeline(run_dir: str, model_mtime: int, clip: str, name: str, path: str | None,
              _data: bytes | None) -> dict:
    # Chunk by chunk through the server's one inference lane: other visitors' verdicts
    # take turns with a long clip's windows instead of waiting for all of them.
    first_use_done()
    model = caches.cached_model(run_dir, model_mtime)
    if _data is None:
        return timeline(model, path, lane=LANE).to_dict()
    with webio.saved_upload(_data, name) as saved:
        return timeline(model, saved, lane=LANE).to_dict()


def show(run_dir: str, model, prediction: dict, path: str | None = None,
         data: bytes | None = None, name: str = "") -> None:
    """The timeline under the player, for clips longer than the model's window.

    Args:
        run_dir: the model's run.
        model: the loaded model (for its window).
        prediction: the page's prediction dict (its ``duration`` decides).
        path: a dataset clip's path, or None for an upload.
        data: the uploaded bytes, or None.
        name: the upload's file name.
    """
    plan = window_plan(model)
    duration = prediction.get("duration") or 0.0
    if duration <= plan.seconds:
        return
    clip = clip_id(path, data)
    with guard("Making the timeline", stop=False):
        tl = _timeline(run_dir, model_version(run_dir), clip,
                       name, path, data)
        _band(tl, model.primary, duration, clip, model.classes)


def _band(tl: dict, aggregator: str, duration: float, clip: str, classes) -> None:
    settings = tl["timeline"]
    st.subheader("Timeline")
    st.caption(f"The clip is longer than the model's window, so it is classified window by "
               f"window: {settings['window']:g} s as {settings['frames']} frames, a verdict "
               f"every {settings['step']:.2f} s; each point of the curves is the window ending "
               "there. Pick a segment to play the clip from there.")
    segments = stream_tables.segment_rows(tl["segments"])
    probs = stream_tables.step_probabilities(tl["steps"], aggregator, 3)
    with st.container(key="timeline"):
        st.plotly_chart(charts.timeline_band(segments, probs, duration, classes),
                        key="timeline-chart")
        labels = [f"{r.start:.1f}–{r.end:.1f} s · {r.label} ({r.confidence:.0%})"
                  for r in segments.itertuples()]
        choice = st.selectbox("Play from", range(len(labels)), format_func=labels.__getitem__,
                              index=None, placeholder="Choose a segment", key=PICK)
    if choice is not None:
        wanted = {"clip": clip, "time": int(segments.iloc[choice]["start"])}
        if st.session_state.get(START) != wanted:
            st.session_state[START] = wanted
            st.rerun()  # the player above is drawn already: draw it again from there
