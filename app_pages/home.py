"""Home: what vidcore does, the state of things, and the way to each step."""

import streamlit as st

import ui
from vidcore import doctor, tables

st.title(":material/movie: vidcore")
st.write(
    "vidcore teaches a computer to recognise actions in short videos, such as a squat, "
    "a jumping jack or a punch. Point it at a folder of labelled clips, check the dataset, "
    "and train a classifier on features of a pretrained image network in about a minute. "
    "Then measure it on held-out clips and try it on any video of your own."
)

state = tables.home_status(*ui.index_or_error())
cols = st.columns(4)
cols[0].metric("Dataset", state["dataset"], help=state["dataset_help"], border=True)
cols[1].metric("Feature cache", state["cache"], help=state["cache_help"], border=True)
cols[2].metric("Trained models", state["models"], help=state["models_help"], border=True)
cols[3].metric("Active model", state["active"], help=state["active_help"], border=True)
engine = doctor.engine_report()  # never measures here: that waits for the first use
st.caption(f":material/memory: Backbone engine ({engine['backbone']}): {engine['line']}. "
           "Set VIDCORE_ENGINE=keras|litert to override.")
if state["dataset_error"]:
    st.warning(f"The dataset could not be opened: {state['dataset_error']}",
               icon=":material/warning:")

st.subheader("Steps")
steps = [
    ("dataset", ":material/video_library:", "1 · Explore the dataset",
     "Classes, splits, leakage check, and any clip with its sampled frames."),
    ("train", ":material/model_training:", "2 · Train a model",
     "Pick a preset or a backbone, watch the loss fall, stop at any time."),
    ("evaluate", ":material/analytics:", "3 · Evaluate it",
     "Accuracy per aggregator, confusion matrix, the clips it gets wrong."),
    ("predict", ":material/smart_display:", "4 · Predict on a video",
     "Upload a clip or pick a test clip and see what the model says, frame by frame."),
    ("live", ":material/videocam:", "Live · Point a camera at an action",
     "The model names what the camera sees as it happens; keep a clip for a dataset."),
    ("datasets", ":material/create_new_folder:", "My datasets · Your own actions",
     "Upload clips, zips or long videos, or record them, and train on them."),
]
for key, icon, label, text in steps:
    with st.container(border=True):
        st.page_link(ui.PAGES[key], label=label, icon=icon)
        st.caption(text)
