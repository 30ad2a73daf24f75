"""Home: what vidcore does and where the demo dataset is."""

import streamlit as st

st.title("vidcore")
st.write(
    "Explore a video dataset, train an action classifier on it, and judge the result "
    "in the browser. The demo dataset (synthetic actions in UCF101's layout) is ready to use."
)
