"""vidcore web app: the router only. Pages live in pages/, logic in vidcore/."""

import streamlit as st

st.set_page_config(page_title="vidcore", page_icon="🎬", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
]

st.navigation(PAGES).run()
