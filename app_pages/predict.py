"""Predict: what a model says about one clip, frame by frame and as a whole."""

import json
from functools import partial

import streamlit as st

from vidcore.data.sampling import describe
from vidcore.views import charts, tables, webio
from webapp import caches, dataset_choice, media, model_choice
from webapp.boundary import end_page
from webapp.panels import explain, model_transfer, prediction, timeline, trust

UPLOAD, TEST_CLIP = "Upload a clip", "A test clip of the dataset"
GRID = 4  # thumbnails per row

st.title("Predict")
explain.keep_state()
run_dir = model_choice.pick_model()
model = model_choice.model_or_stop(run_dir)
prediction.caption_with_classes(
    f"This model looks at {describe(model.feature_spec.sampler)} of a clip "
    f"({model.config.get('backbone')} features, head {model.spec.name}) and knows",
    model.classes)

source = st.radio("Clip", (UPLOAD, TEST_CLIP), horizontal=True, key="predict-source")
if source == UPLOAD:
    limit = st.get_option("server.maxUploadSize")
    upload = st.file_uploader(
        f"A video file ({', '.join(webio.UPLOAD_EXTENSIONS)}), up to {limit} MB",
        type=list(webio.UPLOAD_EXTENSIONS))
    if upload is None:
        st.info(f"Upload a short video of one action (a few seconds is enough; at most "
                f"{limit} MB), or pick a test clip of the dataset above.", icon=":material/upload:")
        end_page()
    result = prediction.predict_upload(run_dir, upload.name, upload.getvalue())
    clip_source = {"data": upload.getvalue(), "name": upload.name}
else:
    index = dataset_choice.current_index()
    clips = [r.path for r in (index.test or index.records)]
    clip = st.selectbox("Test clip", clips, key="predict-clip",
                        format_func=partial(caches.clip_label, index.root),
                        help="Test clips of the dataset chosen in the sidebar.")
    record = index.find(clip)
    clip_source = {"path": str(index.path_of(record))}
    result = prediction.predict_file(run_dir, clip_source["path"])

prediction = result["prediction"]
if source == TEST_CLIP:  # a clip of the dataset: its true class is known
    st.markdown(tables.true_class_line(record.class_name, prediction["primary_label"]))
note = prediction.get("sampling_note")
if note:  # the fps sampler's max_frames cap left frames out: say the answer saw fewer
    st.info(f"{note[0].upper()}{note[1:]}.", icon=":material/info:")
with st.container(key="answers"):
    answers = trust.answers(prediction)
    for col, answer in zip(st.columns(len(answers)), answers, strict=True):
        own = " (this model's answer)" if answer["primary"] else ""
        col.metric(f"{answer['title']}{own}", answer["label"], answer["confidence_text"],
                   delta_color="off", delta_arrow="off", border=True)

looked = explain.switch()
player, grid = st.columns([2, 3])
with player:  # filled at the end of the run, once its preview is made: the verdict first
    start = timeline.start_time(timeline.clip_id(clip_source.get("path"),
                                                 clip_source.get("data")))
    if "path" in clip_source:
        media.play_clip(clip_source["path"], start)
    else:
        media.play_upload(clip_source["name"], clip_source["data"], start)
with grid, st.container(key="frame-grid"):
    st.markdown(f"**The {len(result['thumbs'])} sampled frames** and "
                + ("where the evidence lies" if looked else "each one's top class"))
    cells = [] if looked else list(zip(result["thumbs"], prediction["frames"], strict=True))
    for start in range(0, len(cells), GRID):
        for col, (image, frame) in zip(st.columns(GRID), cells[start:start + GRID],
                                       strict=False):
            best, prob = frame["top"][0]
            col.image(media.frame(image), caption=f"{frame['time']:.2f} s · {best} {prob:.0%}")
    if looked:
        explain.frame_grid(run_dir, model, clip_source, prediction, result["thumbs"], GRID)

timeline.show(run_dir, model, prediction, **clip_source)

st.subheader("Predictions over time")
st.plotly_chart(charts.frame_probability_lines(tables.frame_probabilities(prediction),
                                               model.classes))
# Downloads hand over their bytes on click (a callable): a file made for the button
# would be fetched by the browser at once, and dropped by a run cut short (issue 28).
st.download_button("Download the prediction (JSON)", partial(json.dumps, prediction, indent=2),
                   file_name="prediction.json", mime="application/json",
                   icon=":material/download:", on_click="ignore")
with st.expander("Take this model away", icon=":material/download:"):
    model_transfer.downloads(run_dir)
