"""Home: what vidcore does, the state of things, and the way to each step."""

import streamlit as st

from vidcore import doctor, spaces
from vidcore.views import tables
from webapp import dataset_choice, pages, signin
from webapp.panels import admin_limits

st.title(":material/movie: vidcore")
st.write(
    "vidcore teaches a computer to recognise actions in short videos, such as a squat, "
    "a jumping jack or a punch. Point it at a folder of labelled clips, check the dataset, "
    "and train a classifier on features of a pretrained image network. "
    "Then measure it on held-out clips and try it on any video of your own."
)
st.caption(":material/group: " + signin.mode_line(st.user.get("email") if signin.auth_on()
                                                  else None))

state = tables.home_status(*dataset_choice.index_or_error())
cols = st.columns(4)
cols[0].metric("Dataset", state["dataset"], help=state["dataset_help"], border=True)
cols[1].metric("Feature cache", state["cache"], help=state["cache_help"], border=True)
cols[2].metric("Trained models", state["models"], help=state["models_help"], border=True)
cols[3].metric("Active model", state["active"], help=state["active_help"], border=True)
engine = doctor.engine_report()  # never measures nor converts here: that waits for first use
st.caption(":material/memory: " + ("The image network will be set up for this computer on "
                                   "its first use." if engine["source"] == "pending" else
                                   "The image network runs the way chosen for this computer."),
           help=f"Backbone engine ({engine['backbone']}): {engine['line']}. "
                "Set VIDCORE_ENGINE=keras or VIDCORE_ENGINE=litert to override.")
if state["dataset_error"]:
    st.warning(f"The dataset could not be opened: {state['dataset_error']}",
               icon=":material/warning:")

if signin.auth_on() and spaces.is_admin(st.user.get("email")):  # admins only: limits
    with st.expander("Admin: users and limits", icon=":material/admin_panel_settings:"):
        admin_limits.admin_limits_panel(st.user.get("email"))

st.subheader("Steps")
for step in pages.steps():
    with st.container(border=True):
        st.page_link(step.script, label=step.step, icon=step.icon)
        st.caption(step.blurb)
