"""Which model a page works with: the models there are, the shared picker, loading one."""

from __future__ import annotations

import contextlib

import streamlit as st

from vidcore.errors import VidcoreError
from vidcore.models.loading import model_version
from webapp import pages
from webapp.boundary import end_page, guard
from webapp.caches import cached_model
from webapp.state import RUN_CHOICE, WANTED_RUN


def model_runs() -> dict[str, str]:
    """Runs that hold a model, newest first, the shipped demo model last: path -> label."""
    from vidcore import runs

    active = runs.active_model()
    choices = {}
    for r in runs.list_runs():
        if r["has_model"]:
            star = " ★ active" if runs.same_run(active, r["path"]) else ""
            choices[r["path"]] = f"{r['name']} · {r['head']}{star}"
    if runs.model_file(runs.DEMO_MODEL_DIR) is not None:
        star = " ★ active" if active is None else ""
        choices[str(runs.DEMO_MODEL_DIR)] = f"demo model (shipped){star}"
    return choices


def pick_model(label: str = "Model") -> str:
    """A selectbox of models (the active one preselected), shared by Evaluate and Predict.

    Stops the page with what to do when there is no model at all.
    """
    from vidcore import runs

    choices = model_runs()
    if not choices:
        st.info("There is no trained model yet. Train one on the **Train** page; it takes "
                "about a minute on the demo dataset.", icon=":material/info:")
        st.page_link(pages.script("train"), label="Go to Train", icon=":material/model_training:")
        end_page()
    wanted = st.session_state.pop(WANTED_RUN, None)  # not a widget key: survives page switches
    if wanted in choices:
        st.session_state[RUN_CHOICE] = wanted
    if st.session_state.get(RUN_CHOICE) not in choices:
        with contextlib.suppress(VidcoreError):
            active = runs.resolve_model_dir()  # resolved; the choices are listed paths
            st.session_state[RUN_CHOICE] = next(
                (path for path in choices if runs.same_run(path, active)), None)
        if st.session_state.get(RUN_CHOICE) not in choices:
            st.session_state[RUN_CHOICE] = next(iter(choices))
    return st.selectbox(label, list(choices), format_func=choices.get, key=RUN_CHOICE)


def model_or_stop(run_dir: str):
    """The cached model of a run; stops the page with the reason when it cannot load."""

    with guard("Loading the model"):
        return cached_model(run_dir, model_version(run_dir))
