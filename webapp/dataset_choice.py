"""The dataset and sampler the sidebar chose, as pages need them."""

from __future__ import annotations

import streamlit as st

from vidcore.data.index import VideoIndex
from vidcore.data.sampling import Sampler, create_sampler, describe
from vidcore.errors import VidcoreError
from vidcore.spaces import confine
from vidcore.views import webio
from webapp import pages
from webapp.boundary import end_page, guard
from webapp.caches import cached_index
from webapp.demo_data import demo_root
from webapp.state import (
    DATASET_PATH,
    DATASET_SOURCE,
    DATASET_SPLIT,
    DEMO,
    FOLDER,
    MINE,
    MY_DATASET,
    SAMPLER_FRAMES,
    SAMPLER_NAME,
    SAMPLER_RATE,
)


def _has_no_clips(name: str) -> bool:
    """True for a workspace dataset without a single clip (False when it is not there)."""
    from vidcore import workspace

    try:
        return not workspace.clip_table(name)
    except VidcoreError:
        return False


def _chosen_path() -> str:
    """The chosen dataset path (the demo root by default).

    Raises:
        InputError: a typed path that is empty, missing or outside ``VIDCORE_DATA_ROOTS``.
    """
    if st.session_state.get(DATASET_SOURCE, DEMO) == DEMO:
        return demo_root()
    if st.session_state.get(DATASET_SOURCE) == MINE:
        from vidcore.workspace import store

        return str(store.existing(st.session_state.get(MY_DATASET) or ""))
    # signed in: only the own space and the shared data, whatever $VIDCORE_DATA_ROOTS says
    return str(confine.check_readable(webio.check_dataset_path(
        st.session_state.get(DATASET_PATH, ""))))


def _confined_index() -> VideoIndex:
    """The chosen dataset's index, refused when it lists a video the user may not read."""
    index = cached_index(_chosen_path(), int(st.session_state.get(DATASET_SPLIT, 1)))
    confine.check_index(index)  # a CSV may list any path
    return index


def _ask_for_a_path() -> None:
    """Stop the page with a hint while "a folder" is chosen but no path typed yet."""
    if (st.session_state.get(DATASET_SOURCE) == MINE
            and not st.session_state.get(MY_DATASET)):
        st.info("You have no dataset of your own yet: create one on **My datasets**.",
                icon=":material/folder_open:")
        st.page_link(pages.script("datasets"), label="Go to My datasets", icon=":material/add:")
        end_page()
    if st.session_state.get(DATASET_SOURCE) == MINE and _has_no_clips(
            st.session_state[MY_DATASET]):
        st.info(f"**{st.session_state[MY_DATASET]}** has no clips yet: add classes and clips "
                "on **My datasets**.", icon=":material/video_library:")
        st.page_link(pages.script("datasets"), label="Go to My datasets", icon=":material/add:")
        end_page()
    if (st.session_state.get(DATASET_SOURCE, DEMO) == FOLDER
            and not st.session_state.get(DATASET_PATH, "").strip()):
        st.info("Type the path of a dataset folder (or a .csv manifest) in the sidebar: "
                "UCF101 or HMDB51 with their split lists, or one folder of videos per class.",
                icon=":material/folder_open:")
        end_page()


def dataset_path() -> str:
    """The chosen dataset path; stops the page with an explanation when it is unusable."""
    _ask_for_a_path()
    with guard("Opening the dataset"):
        return _chosen_path()


def index_or_error() -> tuple[VideoIndex | None, str | None]:
    """The chosen dataset's index, or None and the reason (for pages that go on without it)."""
    try:
        return _confined_index(), None
    except VidcoreError as err:
        return None, str(err)


def current_index() -> VideoIndex:
    """The chosen dataset's index; stops the page with an explanation when it cannot load."""
    _ask_for_a_path()
    with guard("Opening the dataset"):
        return _confined_index()


def current_sampler() -> Sampler:
    """The sampler chosen in the sidebar."""
    name = st.session_state.get(SAMPLER_NAME, "uniform")
    if name == "fps":
        return create_sampler("fps", rate=float(st.session_state.get(SAMPLER_RATE, 1.0)))
    return create_sampler(name, frames=int(st.session_state.get(SAMPLER_FRAMES, 8)))


def sampler_caption() -> str:
    """One line naming the sidebar sampler, for captions."""
    return describe(current_sampler())
