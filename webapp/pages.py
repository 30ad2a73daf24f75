"""The one page registry: every page's script, title, icon, and what Home says of it.

app.py builds the navigation from it, Home its list of steps, links and
``st.switch_page`` find scripts through ``script``, and the tests and screenshots
iterate ``PAGES``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page of the app."""

    key: str  # also its address: /<key> (Home is at /)
    title: str
    icon: str
    step: str = ""  # Home's link text (empty: Home itself)
    blurb: str = ""  # Home's line under the link

    @property
    def script(self) -> str:
        """The page script, relative to the app's folder."""
        return f"app_pages/{self.key}.py"


PAGES: dict[str, Page] = {p.key: p for p in (
    Page("home", "Home", ":material/home:"),
    Page("dataset", "Dataset", ":material/video_library:", "1 · Explore the dataset",
         "Classes, splits, leakage check, and any clip with its sampled frames."),
    Page("datasets", "My datasets", ":material/create_new_folder:",
         "My datasets · Your own actions",
         "Upload clips, zips or long videos, or record them, and train on them."),
    Page("train", "Train", ":material/model_training:", "2 · Train a model",
         "Pick a preset or a backbone, watch the loss fall, stop at any time."),
    Page("evaluate", "Evaluate", ":material/analytics:", "3 · Evaluate it",
         "Accuracy per aggregator, confusion matrix, the clips it gets wrong."),
    Page("predict", "Predict", ":material/smart_display:", "4 · Predict on a video",
         "Upload a clip or pick a test clip and see what the model says, frame by frame."),
    Page("live", "Live", ":material/videocam:", "Live · Point a camera at an action",
         "The model names what the camera sees as it happens; keep a clip for a dataset."),
)}
HOME_ORDER = ("dataset", "train", "evaluate", "predict", "live", "datasets")


def script(key: str) -> str:
    """The script of page ``key``, for ``st.page_link`` and ``st.switch_page``."""
    return PAGES[key].script


def steps() -> list[Page]:
    """The pages Home links to, in the order of the work."""
    return [PAGES[key] for key in HOME_ORDER]


def navigation():
    """The ``st.Page`` list of ``st.navigation``, Home the default."""
    import streamlit as st

    return [st.Page(p.script, title=p.title, icon=p.icon, default=p.key == "home")
            for p in PAGES.values()]
