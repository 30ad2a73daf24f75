"""The sidebar of every page: the dataset picker, and the frame sampler on the Dataset page."""

from __future__ import annotations

import streamlit as st

from vidcore import settings
from webapp import pages, state


def sidebar(page_title: str) -> None:
    """Dataset picker (every page) and frame-sampler settings (the Dataset page), from app.py."""
    for key in (state.SAMPLER_NAME, state.SAMPLER_FRAMES, state.SAMPLER_RATE):
        # Widgets not drawn in a run lose their state; re-assigning keeps the sampler
        # settings while the sampler widgets are hidden on the other pages.
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    with st.sidebar:
        st.subheader("Dataset")
        source = st.radio("Source", (state.DEMO, state.MINE, state.FOLDER),
                          key=state.DATASET_SOURCE, label_visibility="collapsed")
        if source == state.MINE:
            _my_dataset_input()
        if source == state.FOLDER:
            roots = settings.data_roots()
            hint = (f"Only folders under {', '.join(map(str, roots))} may be opened."
                    if roots else "UCF101, HMDB51, a folder per class, or a CSV manifest.")
            st.text_input("Dataset folder or .csv file", key=state.DATASET_PATH,
                          placeholder="/data/UCF101", help=hint)
        st.session_state.setdefault(state.DATASET_SPLIT, 1)
        st.number_input("Split", min_value=1, max_value=10, key=state.DATASET_SPLIT,
                        help="Which official train/test split (UCF101 and HMDB51 have 3).")
        if page_title == "Dataset":
            _sampler_inputs()


def _my_dataset_input() -> None:
    """The sidebar's pick of a workspace dataset (or a link to make the first one)."""
    from vidcore import workspace

    names = workspace.list_names()
    if not names:
        st.caption("No dataset of your own yet.")
        st.page_link(pages.script("datasets"), label="Create one", icon=":material/add:")
        return
    if st.session_state.get(state.MY_DATASET) not in names:
        st.session_state[state.MY_DATASET] = names[0]
    st.selectbox("Your dataset", names, key=state.MY_DATASET)


def choose_my_dataset(name: str) -> None:
    """Make a workspace dataset the sidebar's choice (call from a widget callback)."""
    st.session_state[state.DATASET_SOURCE] = state.MINE
    st.session_state[state.MY_DATASET] = name


def _sampler_inputs() -> None:
    # Defaults go through session state, not value=: the state may be set already.
    st.session_state.setdefault(state.SAMPLER_FRAMES, 8)
    st.session_state.setdefault(state.SAMPLER_RATE, 1.0)
    st.subheader("Frame sampler")
    name = st.selectbox("Sampler", ("uniform", "segments", "fps"), key=state.SAMPLER_NAME,
                        help="Which frames of a video are looked at (the frame strip below).")
    if name == "fps":
        st.slider("Frames per second", 0.25, 5.0, step=0.25, key=state.SAMPLER_RATE)
    else:
        st.slider("Frames per video", 2, 32, key=state.SAMPLER_FRAMES)
