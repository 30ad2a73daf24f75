"""vidcore web app: the router only. Pages live in app_pages/, logic in vidcore/.

The folder is not called ``pages/`` on purpose: Streamlit treats a ``pages/`` folder
beside the entry script as an old-style multipage app until ``st.navigation`` has run
once, so the first request after a server start that opens a page URL directly
(a reload of /predict, a bookmark) would run that page without this router: no
sidebar, no page config, a different menu.
"""

# aiortc's pylibsrtp (the Live page) crashes the process with a segmentation fault when
# it is first imported after TensorFlow: import it before any page can load TensorFlow.
import pylibsrtp  # noqa: F401
import streamlit as st

import ui

st.set_page_config(page_title="vidcore", page_icon="🎬", layout="wide")

PAGES = [
    st.Page(ui.PAGES["home"], title="Home", icon=":material/home:", default=True),
    st.Page(ui.PAGES["dataset"], title="Dataset", icon=":material/video_library:"),
    st.Page(ui.PAGES["datasets"], title="My datasets", icon=":material/create_new_folder:"),
    st.Page(ui.PAGES["train"], title="Train", icon=":material/model_training:"),
    st.Page(ui.PAGES["evaluate"], title="Evaluate", icon=":material/analytics:"),
    st.Page(ui.PAGES["predict"], title="Predict", icon=":material/smart_display:"),
    st.Page(ui.PAGES["live"], title="Live", icon=":material/videocam:"),
]

page = st.navigation(PAGES)
ui.sidebar(page.title)  # drawn on every page, so the dataset choice survives switches
page.run()
