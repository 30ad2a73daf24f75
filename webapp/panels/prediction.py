"""Predict's prediction of a dataset clip or an upload, cached, with its thumbnails.

The verdict comes first: the browser preview is made apart (``media.play_clip``), and
every session's predictions pass one at a time through the server's one lane.
"""

from __future__ import annotations

import streamlit as st

from vidcore.models.loading import model_version
from vidcore.views import webio
from webapp.boundary import guard
from webapp.caches import cached_model, mtime_ns
from webapp.inference import LANE, first_use_done

COUNTED = "predict-uploads-counted"  # uploads already counted against the per-user limit

CLASS_LIST_MAX = 12  # longer class lists go into an expander


def caption_with_classes(text: str, classes) -> None:
    """``text`` + "N actions: a, b, c." as a caption; a long list folds into an expander."""
    if len(classes) <= CLASS_LIST_MAX:
        st.caption(f"{text} {len(classes)} actions: {', '.join(classes)}.")
        return
    st.caption(f"{text} {len(classes)} actions.")
    with st.expander(f"The {len(classes)} actions it knows"):
        st.caption(", ".join(classes))


UPLOAD_HINT = ("Upload a video that plays in a video player (MP4, AVI, MOV, MKV or WebM); "
               "if yours does, convert it to H.264 MP4 and try again.")


def _predict_path(run_dir: str, path) -> dict:
    """Prediction and sampled-frame thumbnails of one video file (decoded once)."""
    from vidcore.predict import predict_with_frames

    first_use_done()  # the warm-up may be converting this backbone's weights right now
    model = cached_model(run_dir, model_version(run_dir))
    with LANE:
        prediction, frames, _ = predict_with_frames(model, path)
    # The frames come at the backbone's square size: thumbnails take the video's shape.
    aspect = frames.info.width / frames.info.height if frames.info.height else None
    return {"prediction": prediction.to_dict(),
            "thumbs": webio.thumbnails(frames.images, aspect=aspect)}


@st.cache_data(max_entries=16, show_spinner="Predicting…")
def _cached_file(run_dir: str, model_mtime: int, path: str, file_mtime: int) -> dict:
    return _predict_path(run_dir, path)


@st.cache_data(max_entries=8, show_spinner="Predicting…")
def _cached_upload(run_dir: str, model_mtime: int, digest: str, name: str, _data: bytes) -> dict:
    from vidcore.errors import VideoReadError

    try:
        with webio.saved_upload(_data, name) as path:
            result = _predict_path(run_dir, path)
    except VideoReadError as err:  # name the user's file, not the private temp path
        raise VideoReadError(name, err.reason) from None
    result["prediction"]["video"] = name
    return result


def predict_file(run_dir: str, path: str) -> dict:
    """``_predict_path`` of a dataset clip, cached per model and file version."""
    from vidcore.spaces import confine

    with guard("Predicting"):
        confine.check_readable(path, "a clip")
        return _cached_file(run_dir, model_version(run_dir), path,
                            mtime_ns(path))


def predict_upload(run_dir: str, name: str, data: bytes) -> dict:
    """``_predict_path`` of uploaded bytes (saved privately, deleted after), cached by content."""
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    with guard("Reading the uploaded video", hint=UPLOAD_HINT):
        _count_upload(digest)
        return _cached_upload(run_dir, model_version(run_dir), digest, name, data)


def _count_upload(digest: str) -> None:
    """Count a new upload once against the per-user limit (signed in), not every rerun."""
    from vidcore.spaces import quotas

    seen = st.session_state.setdefault(COUNTED, set())
    if digest not in seen:
        quotas.note_upload()
        seen.add(digest)
