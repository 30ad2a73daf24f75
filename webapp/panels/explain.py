"""The Predict page's "Show where the model looked": heatmap overlays and decisive frames.

A thin shell over ``vidcore.explain``: the explainer (backbone and head as one float32
graph) is built once per model version, each explanation is cached per clip and class;
moving the opacity slider only re-blends the cached maps.
"""

import hashlib

import cv2
import numpy as np
import streamlit as st

from vidcore import explain
from vidcore.models.loading import model_version
from vidcore.views import webio
from webapp import caches, media
from webapp.boundary import guard
from webapp.panels.timeline import clip_id

SWITCH_KEY, CLASS_KEY, OPACITY_KEY = "explain-on", "explain-class", "explain-opacity"
CLASS_FOR = "explain-class-for"  # the (clip, answer) the class box was last set for


def keep_state() -> None:
    """Keep the switch and the opacity through a run that ends before they are drawn
    (replacing an upload: one run sees no file): Streamlit drops the state of widgets a
    run did not draw, and the switch then read off on the next clip (issue 28). The
    class box is not kept: it is set anew for each clip's answer (``CLASS_FOR``)."""
    for key in (SWITCH_KEY, OPACITY_KEY):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def switch() -> bool:
    """The switch; True when the frame grid should show the heatmaps."""
    return st.toggle("Show where the model looked", key=SWITCH_KEY,
                     help="Grad-CAM heatmaps of the evidence for a class in each sampled "
                     "frame, and how much each frame contributes to the clip's answer.")


@st.cache_resource(max_entries=2, show_spinner="Preparing the explainer (once per model)…")
def _explainer(run_dir: str, model_mtime: int):
    return explain.Explainer(caches.cached_model(run_dir, model_mtime))


def _explained(run_dir: str, model_mtime: int, path, class_name: str | None) -> dict:
    model = caches.cached_model(run_dir, model_mtime)
    _, result, _ = explain.explain_video(model, path, class_name,
                                         explainer=_explainer(run_dir, model_mtime))
    return {"explanation": result.to_dict(), "heatmaps": result.heatmaps,
            "ranking": result.ranking()}


@st.cache_data(max_entries=16, show_spinner="Looking for the evidence…")
def _explain_file(run_dir: str, model_mtime: int, path: str, file_mtime: int,
                  class_name: str | None) -> dict:
    return _explained(run_dir, model_mtime, path, class_name)


@st.cache_data(max_entries=8, show_spinner="Looking for the evidence…")
def _explain_upload(run_dir: str, model_mtime: int, digest: str, name: str, _data: bytes,
                    class_name: str | None) -> dict:
    with webio.saved_upload(_data, name) as path:
        return _explained(run_dir, model_mtime, path, class_name)


def _explanation(run_dir: str, source: dict, class_name: str) -> dict:
    mtime = model_version(run_dir)
    with guard("Explaining the prediction"):
        if source.get("path"):
            path = source["path"]
            return _explain_file(run_dir, mtime, path, caches.mtime_ns(path), class_name)
        name, data = source["name"], source["data"]
        return _explain_upload(run_dir, mtime, hashlib.sha256(data).hexdigest(), name, data,
                               class_name)


def frame_grid(run_dir: str, model, source: dict, prediction: dict, thumbs: list,
               columns: int = 4) -> None:
    """Class picker, opacity slider and the sampled frames with their heatmaps.

    Args:
        run_dir: the model's run.
        model: the loaded model (for its classes).
        source: ``{"path": path}`` for a dataset clip, ``{"name": name, "data": bytes}``
            for an upload (the page's ``clip_source``).
        prediction: the prediction's dict (its answer is the default class).
        thumbs: the sampled frames' thumbnails, in temporal order.
        columns: thumbnails per row.
    """
    _class_follows_the_clip(source, prediction["primary_label"])
    pick, fade = st.columns(2)
    chosen = pick.selectbox("Where is the evidence for", list(model.classes), key=CLASS_KEY)
    opacity = fade.slider("Heatmap opacity", 0.0, 1.0, 0.6, 0.05, key=OPACITY_KEY)
    data = _explanation(run_dir, source, chosen)
    info = data["explanation"]
    ranked = any(frame["share"] for frame in info["frames"])
    st.caption(_legend(chosen, info, ranked))
    rank = {f: i for i, f in enumerate(data["ranking"])}
    cells = list(zip(thumbs, data["heatmaps"], info["frames"], strict=True))
    for start in range(0, len(cells), columns):
        for col, (i, (image, heat, frame)) in zip(
                st.columns(columns), enumerate(cells[start:start + columns], start),
                strict=False):
            small = cv2.resize(heat, image.shape[1::-1], interpolation=cv2.INTER_AREA)
            where = f" · #{rank[i] + 1} · {frame['share']:+.0%}" if ranked else ""
            col.image(media.frame(explain.overlay(image, np.clip(small, 0, 1), opacity)),
                      caption=f"{frame['time']:.2f} s{where}")


def _class_follows_the_clip(source: dict, answer: str) -> None:
    """Start the class box on the answer for each new clip (or answer).

    The box's key keeps the user's pick between reruns of one clip, and a key's value
    beats ``index=``: without this reset a second upload kept the first clip's class.
    """
    shown_for = (clip_id(source.get("path"), source.get("data")), answer)
    if st.session_state.get(CLASS_FOR) != shown_for:
        st.session_state[CLASS_FOR] = shown_for
        st.session_state[CLASS_KEY] = answer


def _legend(chosen: str, info: dict, ranked: bool) -> str:
    """The caption over the frames: what red means and, when frames differ, their ranks."""
    score = f"the {info['aggregator']} score for {chosen} ({info['score']:.1%})"
    if not ranked:
        return (f"Red: where the evidence for **{chosen}** lies in each frame. No single "
                f"frame moves {score}: leaving any one out changes nothing, so the frames "
                "are not ranked.")
    return (f"Red: where the evidence for **{chosen}** lies in each frame. Under each frame, "
            "its rank (#1: the most decisive) and its share of the evidence: how far "
            f"{score} falls without that frame, in log-odds, over the sum for all frames "
            "(negative: the frame speaks against it).")
