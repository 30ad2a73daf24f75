"""Evaluate: how a model does on the test clips of its split, per aggregator and per class."""

from functools import partial

import streamlit as st

import charts
import ui
from app_pages import model_transfer
from vidcore import runs, tables

st.title("Evaluate")
run_dir = ui.pick_model()
model_transfer.panel(run_dir)
report = ui.cached_report(run_dir, ui.mtime_ns(f"{run_dir}/{runs.REPORT}"))
if report is None:
    st.info("This model has not been evaluated yet. Evaluation reads every test clip of the "
            "split it was trained on (features are cached for next time) and scores each "
            "way of turning frame outputs into one clip label.", icon=":material/info:")
    if st.button("Evaluate on the test clips", type="primary", icon=":material/play_arrow:"):
        ui.run_evaluation(run_dir)
    st.stop()

left, right = st.columns([5, 1], vertical_alignment="center")
left.caption(f"{report['num_videos']} test clips of split {report['split']} · head "
             f"**{report['head']}** on **{report['backbone']}** features · "
             f"{len(report.get('failed', []))} clips could not be read")
if right.button("Evaluate again", icon=":material/refresh:"):
    ui.run_evaluation(run_dir)

st.subheader("Accuracy per aggregator")
aggs = tables.aggregator_frame(report)
for col, row in zip(st.columns(len(aggs)), aggs.itertuples(), strict=True):
    with col.container(border=True):
        own = " · :blue-badge[this head's answer]" if row.primary else ""
        ref = " · :gray-badge[the reference]" if row.aggregator == tables.REFERENCE_AGGREGATOR \
            else ""
        st.markdown(f"**{row.label.capitalize()}**{own}{ref}")
        gain = None if row.gain is None or row.aggregator == tables.REFERENCE_AGGREGATOR \
            else f"{row.gain * 100:+.1f} points vs mode vote"
        st.metric("Top-1", f"{row.top1:.1%}", delta=gain,
                  delta_color="normal" if row.gain else "off")
        st.metric("Top-5", f"{row.top5:.1%}")
        st.metric("Mean class accuracy", f"{row.mean_class_accuracy:.1%}")
st.plotly_chart(charts.aggregator_bars(tables.aggregator_long(report)))
st.caption("Mode vote is the reference tutorial's answer (the most frequent frame label); "
           "mean probability averages the frames' probabilities; the temporal head reads the "
           "frames in order, so it can tell time-reversed actions apart.")

st.subheader("Confusion matrix")
aggregator = st.segmented_control(
    "Aggregator", list(report["aggregators"]), default=report["primary"],
    format_func=tables.aggregator_label, key="confusion-aggregator") or report["primary"]
cells = tables.confusion_cells(report, aggregator)
cell_key = f"cell-{aggregator}"
st.plotly_chart(charts.confusion_heatmap(tables.confusion_frame(report, aggregator)),
                key=f"heatmap-{aggregator}", selection_mode="points",
                on_select=partial(ui.cell_picked, f"heatmap-{aggregator}", cell_key, cells))
cell = st.selectbox(
    "Clips of one cell (or click a cell above)", cells, key=cell_key,
    format_func=lambda c: f"{c[0]} → {c[1]}: {c[2]} clip{'s' * (c[2] != 1)}"
    + ("" if c[0] == c[1] else "  ✗"))
if cell:
    clips = tables.cell_clips(ui.cached_predictions(run_dir, ui.mtime_ns(
        f"{run_dir}/{runs.PREDICTIONS}")), aggregator, cell[0], cell[1])
    table, player = st.columns([3, 2])
    table.dataframe(clips.drop(columns="true"), hide_index=True,
                    height=min(245, 35 * (len(clips) + 1) + 3),
                    column_config={"confidence": st.column_config.ProgressColumn(
                        "confidence", format="percent", min_value=0, max_value=1)})
    clip = table.selectbox("Play one", clips["path"], key=f"clip-{aggregator}")
    with player:
        ui.play_run_clip(run_dir, report["split"], clip)

st.subheader("Accuracy per class")
st.plotly_chart(charts.per_class_bars(tables.per_class_frame(report)))
