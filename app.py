"""vidcore web app: the router only. Pages live in app_pages/, their helpers in webapp/,
the computing in vidcore/.

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

from webapp import boundary, inference, media, pages, sidebar, signin

st.set_page_config(page_title="vidcore", page_icon="🎬", layout="wide")
email = signin.gate()  # with sign-in configured: the sign-in page until signed in
inference.warm_up()  # once per server process, in the background

page = st.navigation(pages.navigation())
media.start_players()
with boundary.page_run():  # every run ends normally, even a page ended early (issue 28)
    signin.sidebar_account(email)
    sidebar.sidebar(page.title)  # drawn on every page, so the dataset choice survives switches
    page.run()
media.finish_players()  # last, once all else is drawn: the players waiting for a preview
