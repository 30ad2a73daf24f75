"""Plotly figures of the app pages: DataFrames from ``vidcore.views.tables`` in, figures out.

No Streamlit here; every chart gets axis titles and a compact margin so pages look alike.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidcore.views.tables import SPLIT_COLORS

MARGIN = {"t": 30, "b": 10, "l": 10, "r": 10}
CURVE_COLORS = {"train": "#3b5bdb", "validation": "#f08c00"}


def _tidy(fig: go.Figure, height: int = 380) -> go.Figure:
    fig.update_layout(margin=MARGIN, height=height, legend_title_text="")
    return fig


def counts_bar(counts: pd.DataFrame) -> go.Figure:
    """Videos per class (x) and split (colour), grouped bars."""
    fig = px.bar(counts, x="class", y="videos", color="split", barmode="group",
                 color_discrete_map=SPLIT_COLORS)
    fig.update_layout(xaxis_title="Class", yaxis_title="Videos")
    return _tidy(fig)


def training_curves(epochs: pd.DataFrame, batches: pd.DataFrame) -> go.Figure:
    """Loss and accuracy per epoch, train and validation; batch loss before epoch 1 ends."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"),
                        horizontal_spacing=0.08)
    if epochs.empty and not batches.empty:  # first epoch still running: show batches
        for col, metric in ((1, "loss"), (2, "accuracy")):
            fig.add_scatter(x=batches["step"], y=batches[metric], mode="lines+markers",
                            name=f"train {metric} (batches)", row=1, col=col,
                            line_color=CURVE_COLORS["train"])
            fig.update_xaxes(title_text="Batch", row=1, col=col)
    for col, metric in ((1, "loss"), (2, "accuracy")):
        for split, color in CURVE_COLORS.items():
            part = epochs[(epochs["metric"] == metric) & (epochs["split"] == split)]
            if not part.empty:
                fig.add_scatter(x=part["epoch"], y=part["value"], mode="lines+markers",
                                name=split, legendgroup=split, showlegend=col == 1,
                                line_color=color, row=1, col=col)
        if not epochs.empty:  # whole epochs only: about ten ticks at most
            step = max(1, math.ceil(epochs["epoch"].max() / 10))
            fig.update_xaxes(title_text="Epoch", dtick=step, row=1, col=col)
    fig.update_yaxes(title_text="Cross-entropy", row=1, col=1)
    fig.update_yaxes(title_text="Share of clips right", range=[0, 1.02], row=1, col=2)
    return _tidy(fig, 360)


def aggregator_bars(long: pd.DataFrame) -> go.Figure:
    """Top-1, top-5 and mean class accuracy (colour) per aggregator (x)."""
    fig = px.bar(long, x="label", y="value", color="metric", barmode="group", text_auto=".1%")
    fig.update_layout(xaxis_title="Aggregator (how frame outputs become one clip label)",
                      yaxis_title="Share of test clips", yaxis_tickformat=".0%",
                      yaxis_range=[0, 1.08])
    return _tidy(fig, 340)


# The confusion matrix is drawn at an exact pixel size (the page shows it at its own
# width), so cell size, label spacing and click targets are known here and tested.
CELL_MAX = 44  # px: a 10-class matrix is 440 px square
MATRIX_MIN = 300  # px: fewer classes get bigger cells (a 2-class matrix is not 88 px)
PLOT_WIDTH = 760  # px the cells may take across
PLOT_HEIGHT_MAX = 2400  # px the cells may take down (400 classes: 6 px rows)
LABEL_FONT_MIN, LABEL_FONT_MAX = 10, 12
TEXT_MIN_CELL = 18  # px: below this the numbers in cells are not legible, so none are drawn
CHAR_WIDTH = 0.6  # of the font size: average width of a label character


def confusion_geometry(n: int, longest_label: int = 12) -> dict:
    """Pixel layout of an ``n``-class matrix: cell size, fonts, which names fit, margins.

    Columns share ``PLOT_WIDTH``; rows are at least a label tall (every true-class
    name fits) until the height would pass ``PLOT_HEIGHT_MAX``. Axis names are kept
    one label height apart: ``x_step``/``y_step`` say every how many-th class is named.
    """
    font = LABEL_FONT_MAX if n <= 30 else LABEL_FONT_MIN + (n <= 60)
    label_px = font + 2  # a label's height plus a pixel either side
    cell_w = min(max(CELL_MAX, MATRIX_MIN / n), PLOT_WIDTH / n)
    cell_h = max(cell_w, min(label_px, PLOT_HEIGHT_MAX / n))
    label_w = int(longest_label * font * CHAR_WIDTH) + 10
    margin = {"l": label_w + 30, "t": label_w + 30, "r": 150, "b": 10}
    return {"cell_w": cell_w, "cell_h": cell_h, "font": font,
            "x_step": math.ceil(label_px / cell_w), "y_step": math.ceil(label_px / cell_h),
            "text": min(cell_w, cell_h) >= TEXT_MIN_CELL, "margin": margin,
            "width": round(margin["l"] + n * cell_w + margin["r"]),
            "height": round(margin["t"] + n * cell_h + margin["b"])}


def confusion_heatmap(confusion: pd.DataFrame, totals: pd.Series | None = None) -> go.Figure:
    """Test clips per true (row) and predicted (column) class; a click selects a cell.

    Right answers (the diagonal) are blue, mistakes red, empty cells white. Numbers are
    drawn only while cells are big enough to read them. Plotly heatmaps cannot be
    selected, so each non-empty cell carries an invisible marker of the cell's own size
    (nearest marker = the clicked cell) that Streamlit reports when clicked; empty cells
    have no clips to list and no marker (only 1 in 10 cells at 101 classes have clips,
    and 10,201 markers take plotly seconds to draw).

    Args:
        confusion: counts, rows = true class, columns = predicted (same classes, same order).
        totals: test clips per true class (default: the row sums), for the shares in
            the hover text when ``confusion`` shows only some of the classes.
    """
    n, classes = len(confusion), [str(c) for c in confusion.index]
    geo = confusion_geometry(n, max(map(len, classes), default=1))
    values = confusion.to_numpy()
    totals = confusion.sum(axis=1) if totals is None else totals.reindex(confusion.index)
    totals = totals.to_numpy()
    right = np.where(np.eye(n, dtype=bool), values, np.nan)
    wrong = np.where(~np.eye(n, dtype=bool) & (values > 0), values, np.nan)
    fig = go.Figure()
    plot_w = n * geo["cell_w"]  # colour bars placed in pixels right of the cells
    for z, scale, title, x_pos in ((right, "Blues", "Right", 1 + 10 / plot_w),
                                   (wrong, "Reds", "Mistaken", 1 + 80 / plot_w)):
        text = np.where(np.isnan(z), "", values.astype(str)) if geo["text"] else None
        top = max(1, int(np.nanmax(z, initial=0)))
        fig.add_heatmap(z=z, x=classes, y=classes, colorscale=scale, hoverinfo="skip", zmin=0,
                        zmax=top,
                        text=text, texttemplate="%{text}" if geo["text"] else None,
                        textfont={"size": min(14, int(geo["cell_h"] * 0.4))},
                        colorbar={"title": {"text": title, "side": "top"}, "x": x_pos,
                                  "xanchor": "left", "xpad": 0,
                                  "dtick": max(1, math.ceil(top / 5)),  # whole clips
                                  "len": min(1.0, 300 / (n * geo["cell_h"])), "y": 1,
                                  "yanchor": "top", "thickness": 10, "lenmode": "fraction"})
    rows, cols = np.nonzero(values)
    share = values[rows, cols] / np.maximum(totals[rows], 1)
    size = max(1, int(min(geo["cell_w"], geo["cell_h"])))  # the cell itself, never more
    fig.add_scatter(x=[classes[j] for j in cols], y=[classes[i] for i in rows],
                    customdata=np.stack([values[rows, cols], share], 1), mode="markers",
                    showlegend=False, name="",
                    marker={"size": size, "opacity": 0, "symbol": "square"},
                    selected={"marker": {"opacity": 0}}, unselected={"marker": {"opacity": 0}},
                    hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata[0]} clips "
                                  "(%{customdata[1]:.0%} of the true class)")
    _confusion_axes(fig, classes, geo)
    return fig


def _confusion_axes(fig: go.Figure, classes: list[str], geo: dict) -> None:
    n = len(classes)
    common = {"type": "category", "automargin": False, "showgrid": False,
              "tickfont": {"size": geo["font"]}, "ticks": ""}
    fig.update_xaxes(range=[-0.5, n - 0.5], side="top", tickangle=-90,
                     tickmode="array", tickvals=classes[::geo["x_step"]],
                     title={"text": "Predicted class", "standoff": 4}, **common)
    fig.update_yaxes(range=[n - 0.5, -0.5], tickmode="array", tickvals=classes[::geo["y_step"]],
                     title={"text": "True class", "standoff": 4}, **common)
    fig.update_layout(width=geo["width"], height=geo["height"], margin=geo["margin"],
                      clickmode="event+select", dragmode=False, hovermode="closest",
                      hoverdistance=1, plot_bgcolor="white")


def class_accuracy_bars(per_class: pd.DataFrame) -> go.Figure:
    """Top-1 per class (``confusion.class_accuracy``): one horizontal bar a class, worst on
    top, every name on the axis, the clips behind each share written on its bar."""
    n = len(per_class)
    text = [f"{r} of {c}" for r, c in zip(per_class["right"], per_class["clips"], strict=True)]
    fig = go.Figure(go.Bar(
        x=per_class["accuracy"], y=per_class["class"], orientation="h", text=text,
        textposition="outside", cliponaxis=False, textfont={"size": 10},
        marker_color="#3b5bdb",
        customdata=per_class[["right", "clips"]].to_numpy(),
        hovertemplate="%{y}: %{x:.1%} (%{customdata[0]} of %{customdata[1]} clips)<extra></extra>"))
    fig.update_xaxes(title_text="Top-1 accuracy (share of the class's test clips)",
                     tickformat=".0%", range=[0, 1.15], side="top",
                     tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0])  # room for "right of clips"
    fig.update_yaxes(title_text="Class", type="category", autorange="reversed",
                     tickfont={"size": 11}, automargin=True)
    fig.update_layout(bargap=0.25)
    return _tidy(fig, max(240, 18 * n + 80))


def class_colours(classes) -> dict[str, str]:
    """One colour per class, by its place in the model's class list, so that a class has
    the same colour in every chart of a page (and of every page)."""
    palette = px.colors.qualitative.Plotly
    return {str(c): palette[i % len(palette)] for i, c in enumerate(classes)}


def frame_probability_lines(probs: pd.DataFrame, classes=()) -> go.Figure:
    """Probability (y) of the top classes (colour, ``class_colours`` of the model's
    ``classes``) at each sampled frame's time (x)."""
    fig = px.line(probs, x="time", y="probability", color="class", markers=True,
                  color_discrete_map=class_colours(classes))
    fig.update_layout(xaxis_title="Time in the video (s)", yaxis_title="Frame probability",
                      yaxis_tickformat=".0%", yaxis_range=[0, 1.02], legend_title_text="Class")
    return _tidy(fig, 340)


def live_probability_lines(probs: pd.DataFrame, seconds: float = 30.0,
                           classes=()) -> go.Figure:
    """Rolling chart of the live stream: probability (y) of the top classes (colour) over
    the last ``seconds`` (x, seconds before now)."""
    fig = px.line(probs, x="time", y="probability", color="class",
                  color_discrete_map=class_colours(classes))
    fig.update_layout(xaxis_title="Seconds ago", yaxis_title="Probability",
                      xaxis_range=[-seconds, 0], yaxis_tickformat=".0%",
                      yaxis_range=[0, 1.02], legend_title_text="Class")
    return _tidy(fig, 300)


def timeline_band(segments: pd.DataFrame, probs: pd.DataFrame, duration: float,
                  classes=()) -> go.Figure:
    """A long video's timeline: a band of labelled segments (top) over the probabilities
    of the top classes at each step (bottom), on one time axis."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.25, 0.75],
                        vertical_spacing=0.06)
    labels = list(dict.fromkeys(segments["label"]))
    # The model's class order, as every other chart; any class it does not list after.
    colour = class_colours(dict.fromkeys([*map(str, classes), *labels, *probs["class"]]))
    for i, seg in enumerate(segments.itertuples()):
        fig.add_trace(go.Bar(
            x=[seg.length], base=[seg.start], y=["segments"], orientation="h",
            marker_color="#ced4da" if seg.label in ("(unsure)", "(unfamiliar)")
            else colour[seg.label],
            name=seg.label, legendgroup=seg.label, showlegend=False, text=seg.label,
            textposition="inside", insidetextanchor="middle", customdata=[i],
            hovertemplate=(f"{seg.label}<br>{seg.start:.1f}-{seg.end:.1f} s"
                           f"<br>confidence {seg.confidence:.0%}<extra></extra>")),
            row=1, col=1)
    for cls, rows in probs.groupby("class", sort=False):
        fig.add_trace(go.Scatter(x=rows["time"], y=rows["probability"], mode="lines",
                                 name=cls, line_color=colour.get(cls)), row=2, col=1)
    fig.update_yaxes(showticklabels=False, row=1, col=1)
    fig.update_yaxes(title_text="Probability", tickformat=".0%", range=[0, 1.02], row=2, col=1)
    fig.update_xaxes(title_text="Time in the video (s)", range=[0, duration], row=2, col=1)
    fig.update_layout(barmode="overlay", legend_title_text="Class")
    return _tidy(fig, 360)
