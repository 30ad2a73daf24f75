"""Which model a page works with: the models there are, the shared picker, loading one."""

from __future__ import annotations

import contextlib

import streamlit as st

from vidcore.errors import VidcoreError
from vidcore.models.loading import model_version
from webapp import pages
from webapp.boundary import end_page, guard
from webapp.caches import cached_model
from webapp.state import MODEL_PICKED, MODELS_SEEN, RUN_CHOICE, WANTED_RUN


def model_runs() -> dict[str, str]:
    """Runs that hold a model, newest first, the shipped demo model last: path -> label."""
    from vidcore import runs

    active = runs.active_model()
    choices = {}
    for r in runs.list_runs():
        if r["has_model"]:
            star = " ★ active" if runs.same_run(active, r["path"]) else ""
            choices[r["path"]] = f"{runs.describe_run(r['path'])}{star}"
    if runs.model_file(runs.DEMO_MODEL_DIR) is not None:
        star = " ★ active" if active is None else ""
        choices[str(runs.DEMO_MODEL_DIR)] = f"demo model (shipped){star}"
    return choices


def pick_model(label: str = "Model") -> str:
    """A selectbox of models shared by Evaluate and Predict.

    Preselected: the one a button elsewhere asked for, else a model trained since this
    session last looked, else the one picked before, else the active one (the newest
    trained one while none of the user's own is active, rather than the shipped one).
    Ends the page with what to do when there is no model at all.
    """
    choices = model_runs()
    if not choices:
        st.info("There is no trained model yet. Train one on the **Train** page.",
                icon=":material/info:")
        st.page_link(pages.script("train"), label="Go to Train", icon=":material/model_training:")
        end_page()
    st.session_state[RUN_CHOICE] = _preselected(choices)
    picked = st.selectbox(label, list(choices), format_func=choices.get, key=RUN_CHOICE)
    st.session_state[MODEL_PICKED] = picked  # the widget's own value is dropped on a page switch
    return picked


def _preselected(choices: dict[str, str]) -> str:
    """The model the picker opens on, in the order ``pick_model`` describes."""
    from vidcore import runs

    wanted = st.session_state.pop(WANTED_RUN, None)  # not a widget key: survives page switches
    seen = st.session_state.get(MODELS_SEEN, set(choices))
    st.session_state[MODELS_SEEN] = set(choices)
    appeared = [path for path in choices if path not in seen]
    if wanted is None and appeared:
        wanted = appeared[0]  # trained (or added) since this session last looked: offer it
    for path in (wanted, st.session_state.get(RUN_CHOICE), st.session_state.get(MODEL_PICKED)):
        if path in choices:
            return path
    if runs.active_model() is None:
        return next(iter(choices))  # runs come newest first, the shipped model last
    with contextlib.suppress(VidcoreError):
        active = runs.resolve_model_dir()  # resolved; the choices are listed paths
        return next((path for path in choices if runs.same_run(path, active)), next(iter(choices)))
    return next(iter(choices))


def model_or_stop(run_dir: str):
    """The cached model of a run; stops the page with the reason when it cannot load."""

    with guard("Loading the model"):
        return cached_model(run_dir, model_version(run_dir))
