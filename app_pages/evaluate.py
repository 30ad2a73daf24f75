"""Evaluate: how a model does on the test clips of its split, per aggregator and per class."""

from functools import partial

import streamlit as st

from vidcore import confusion, runs
from vidcore.views import charts, tables
from vidcore.words import count
from webapp import caches, media, model_choice
from webapp.boundary import end_page, guard
from webapp.panels import evaluation, evaluator, model_transfer

PAIRS = 50  # rows of the most-confused-pairs table
MAX_CELLS = 300  # entries of the cell picker


def pair_picked(table_key: str, cell_key: str, cells: list, pairs) -> None:
    """A row of the pairs table selected -> select that cell in the cell selectbox."""
    rows = st.session_state[table_key].selection.get("rows", [])
    if rows:
        pair = pairs.iloc[rows[0]]
        evaluation.select_cell(cell_key, cells, pair["true"], pair["predicted"])


def focus_widgets(frame) -> tuple[str, dict]:
    """The focus control and its one option widget: ``(mode, focus_classes keywords)``."""
    classes = list(frame.index)
    mistakes = confusion.mistakes_per_class(frame).sort_values(ascending=False, kind="stable")
    default = confusion.default_focus(len(classes))
    left, right = st.columns([4, 3], vertical_alignment="bottom")
    focus = left.segmented_control("Show", confusion.FOCUS_MODES, default=default,
                                   format_func=confusion.FOCUS_LABELS.get,
                                   key="confusion-focus") or default
    if focus == "confused":
        return focus, {"count": right.slider(
            "How many classes", 2, max(3, min(60, len(classes))),
            min(confusion.DEFAULT_CONFUSED, len(classes)), key="confusion-count",
            help="The classes of the worst mistakes (true → predicted pairs), worst first.")}
    if focus == "chosen":
        return focus, {"chosen": right.multiselect(
            "Classes", classes, default=list(mistakes.index[:8]), key="confusion-chosen")}
    if focus == "class":
        return focus, {"center": right.selectbox(
            "Class", classes, key="confusion-center", index=classes.index(mistakes.index[0]),
            help="This class and every class it is confused with, either way.")}
    return focus, {}


def matrix_caption(shown: int, total: int) -> str:
    """How to read the matrix as drawn: what is named, whether cells carry numbers."""
    geo = charts.confusion_geometry(shown)
    if geo["x_step"] == geo["y_step"] == 1:
        names = "every class named"
    else:
        rows = "every row" if geo["y_step"] == 1 else f"every {geo['y_step']}th row"
        names = (f"{rows} and every {geo['x_step']}th column named (point at a cell for its "
                 "names, or focus on fewer classes)")
    numbers = "" if geo["text"] else " · cells too small for numbers: point at one"
    return (f"{shown} of {total} classes · rows: true class, columns: predicted · blue: right, "
            f"red: mistaken, white: no clip · {names}{numbers} · click a cell to list its clips.")


st.title("Evaluate")
run_dir = model_choice.pick_model()
model_transfer.panel(run_dir)
report = caches.cached_report(run_dir, caches.mtime_ns(f"{run_dir}/{runs.REPORT}"))
if report is None:
    st.info("This model has not been evaluated yet. Evaluation reads every test clip of the "
            "split it was trained on (features are cached for next time) and scores each "
            "way of turning frame outputs into one clip label.", icon=":material/info:")
    if st.button("Evaluate on the test clips", type="primary", icon=":material/play_arrow:"):
        evaluation.run_evaluation(run_dir)
    end_page()

left, right = st.columns([5, 1], vertical_alignment="center")
left.caption(f"{report['num_videos']} test clips of split {report['split']} · head "
             f"**{report['head']}** on **{report['backbone']}** features · "
             f"{len(report.get('failed', []))} clips could not be read")
if right.button("Evaluate again", icon=":material/refresh:"):
    evaluation.run_evaluation(run_dir)

st.subheader("Accuracy per aggregator")
aggs = tables.aggregator_frame(report)
cis = evaluator.intervals(run_dir)
for col, row in zip(st.columns(len(aggs)), aggs.itertuples(), strict=True):
    with col.container(border=True):
        own = " · :blue-badge[this head's answer]" if row.primary else ""
        ref = " · :gray-badge[the reference]" if row.aggregator == tables.REFERENCE_AGGREGATOR \
            else ""
        st.markdown(f"**{row.label.capitalize()}**{own}{ref}")
        gain = None if row.gain is None or row.aggregator == tables.REFERENCE_AGGREGATOR \
            else f"{row.gain * 100:+.1f} points vs mode vote"
        ci = cis.get(row.aggregator, {})
        st.metric("Top-1", f"{row.top1:.1%}", delta=gain,
                  delta_color="normal" if row.gain else "off")
        st.caption(ci.get("top1", ""))
        st.metric("Top-5", f"{row.top5:.1%}")
        st.metric("Mean class accuracy", f"{row.mean_class_accuracy:.1%}")
        st.caption(ci.get("mean_class_accuracy", ""))
if cis:
    st.caption("**How sure are these figures?** The 95% intervals come from a bootstrap that "
               "resamples recordings, not clips (clips of one recording are alike): two runs "
               "whose intervals overlap widely may differ by luck.")
st.plotly_chart(charts.aggregator_bars(tables.aggregator_long(report)))
st.caption("Mode vote is the reference tutorial's answer (the most frequent frame label); "
           "mean probability averages the frames' probabilities; the temporal head reads the "
           "frames in order, so it can tell time-reversed actions apart.")

st.subheader("Confusion matrix")
aggregator = st.segmented_control(
    "Aggregator", list(report["aggregators"]), default=report["primary"],
    format_func=tables.aggregator_label, key="confusion-aggregator") or report["primary"]
frame = tables.confusion_frame(report, aggregator)
classes = list(frame.index)
focus, options = focus_widgets(frame)
cells = tables.confusion_cells(report, aggregator)
cell_key = f"cell-{aggregator}"
shown = None
with guard("Focusing the matrix", stop=False):
    shown = confusion.focus_classes(frame, focus, **options)
if shown is None:
    pass  # the guard has said what to do
elif not shown:
    st.success("No mistakes at all with this aggregator: every test clip is right.",
               icon=":material/check_circle:")
else:
    st.plotly_chart(charts.confusion_heatmap(frame.loc[shown, shown], totals=frame.sum(axis=1)),
                    width="content", key=f"heatmap-{aggregator}", selection_mode="points",
                    on_select=partial(evaluation.cell_picked, f"heatmap-{aggregator}",
                                      cell_key, cells))
    st.caption(matrix_caption(len(shown), len(classes)))

st.subheader("Most confused pairs")
pairs = confusion.confused_pairs(frame, top=PAIRS)
if pairs.empty:
    st.caption("No mistakes: every test clip is right.")
else:
    total = len(confusion.confused_pairs(frame))
    which = (f"The {count(total, 'mistaken pair')}" if total == len(pairs) else
             f"The {len(pairs)} most frequent of {count(total, 'mistaken pair')}")
    st.caption(f"{which}, most frequent first (share: of the true class's test clips). "
               "Select a row to list and play its clips below.")
    st.dataframe(pairs, hide_index=True, key=f"pairs-{aggregator}", on_select=partial(
        pair_picked, f"pairs-{aggregator}", cell_key, cells, pairs), selection_mode="single-row",
        height=min(386, 35 * (len(pairs) + 1) + 3), column_config={
            "true": "true class", "predicted": "predicted as",
            "share": st.column_config.ProgressColumn("share", format="percent",
                                                     min_value=0, max_value=1)})

# A selectbox of thousands of entries (400 classes: 3,500 cells with clips) takes the
# browser seconds: offer the shown classes' cells, mistakes first, plus a picked one.
in_view = set(shown or classes)
choices = [c for c in cells if c[0] in in_view and c[1] in in_view][:MAX_CELLS]
if st.session_state.get(cell_key) in cells and st.session_state[cell_key] not in choices:
    choices.insert(0, st.session_state[cell_key])
cell = st.selectbox(
    "Clips of one cell (or click a cell above)", choices, key=cell_key,
    help=f"The cells with clips of the classes shown above ({MAX_CELLS} at most), "
         "mistakes first, most clips first.",
    format_func=lambda c: f"{c[0]} → {c[1]}: {count(c[2], 'clip')}"
    + ("" if c[0] == c[1] else "  ✗"))
if cell:
    clips = tables.cell_clips(caches.cached_predictions(run_dir, caches.mtime_ns(
        f"{run_dir}/{runs.PREDICTIONS}")), aggregator, cell[0], cell[1])
    root = media.run_dataset_root(run_dir, report["split"])
    label = partial(caches.clip_label, root) if root else str
    clips.insert(0, "clip", clips["path"].map(label))  # uploaded names for own datasets
    table, player = st.columns([3, 2])
    table.dataframe(clips.drop(columns=["true", "path"]), hide_index=True,
                    height=min(245, 35 * (len(clips) + 1) + 3),
                    column_config={"confidence": st.column_config.ProgressColumn(
                        "confidence", format="percent", min_value=0, max_value=1)})
    clip = table.selectbox("Play one", clips["path"], key=f"clip-{aggregator}",
                           format_func=label)
    with player:
        media.play_run_clip(run_dir, report["split"], clip)

st.subheader(f"Accuracy per class · {tables.aggregator_label(aggregator)}")
per_class = confusion.class_accuracy(frame)
st.caption(f"{len(per_class)} classes with test clips, worst first; each bar says how many of "
           "the class's clips are right.")
st.plotly_chart(charts.class_accuracy_bars(per_class))

evaluator.panels(run_dir)
