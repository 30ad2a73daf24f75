"""Plotly figures of the app pages: DataFrames from ``vidcore.tables`` in, figures out.

No Streamlit here; every chart gets axis titles and a compact margin so pages look alike.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vidcore.tables import SPLIT_COLORS

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


def confusion_heatmap(confusion: pd.DataFrame) -> go.Figure:
    """Test videos per true (row) and predicted (column) class; a click selects a cell.

    Plotly heatmaps cannot be selected, so an invisible marker sits on every cell:
    clicking a cell selects its marker, and Streamlit reports the selection.
    """
    fig = px.imshow(confusion, text_auto=True, color_continuous_scale="Blues", aspect="auto")
    fig.update_traces(hoverinfo="skip", hovertemplate=None)
    cells = confusion.stack().reset_index(name="videos")
    fig.add_scatter(x=cells["predicted"], y=cells["true"], customdata=cells["videos"],
                    mode="markers", showlegend=False, name="",
                    marker={"size": 28, "opacity": 0, "symbol": "square"},
                    selected={"marker": {"opacity": 0}},
                    unselected={"marker": {"opacity": 0}},
                    hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata} videos")
    n = len(confusion)
    fig.update_xaxes(range=[-0.5, n - 0.5])  # the markers must not widen the axes
    fig.update_yaxes(range=[n - 0.5, -0.5])
    fig.update_layout(xaxis_title="Predicted class", yaxis_title="True class",
                      coloraxis_colorbar_title="Videos", clickmode="event+select",
                      dragmode=False)
    return _tidy(fig, max(360, 34 * len(confusion) + 120))


def per_class_bars(per_class: pd.DataFrame) -> go.Figure:
    """Top-1 per class (x) and aggregator (colour)."""
    fig = px.bar(per_class, x="class", y="accuracy", color="aggregator", barmode="group")
    fig.update_layout(xaxis_title="Class", yaxis_title="Top-1 accuracy",
                      yaxis_tickformat=".0%", yaxis_range=[0, 1.02])
    return _tidy(fig, 360)


def frame_probability_lines(probs: pd.DataFrame) -> go.Figure:
    """Probability (y) of the top classes (colour) at each sampled frame's time (x)."""
    fig = px.line(probs, x="time", y="probability", color="class", markers=True)
    fig.update_layout(xaxis_title="Time in the video (s)", yaxis_title="Frame probability",
                      yaxis_tickformat=".0%", yaxis_range=[0, 1.02], legend_title_text="Class")
    return _tidy(fig, 340)


def live_probability_lines(probs: pd.DataFrame, seconds: float = 30.0) -> go.Figure:
    """Rolling chart of the live stream: probability (y) of the top classes (colour) over
    the last ``seconds`` (x, seconds before now)."""
    fig = px.line(probs, x="time", y="probability", color="class")
    fig.update_layout(xaxis_title="Seconds ago", yaxis_title="Probability",
                      xaxis_range=[-seconds, 0], yaxis_tickformat=".0%",
                      yaxis_range=[0, 1.02], legend_title_text="Class")
    return _tidy(fig, 300)


def timeline_band(segments: pd.DataFrame, probs: pd.DataFrame, duration: float) -> go.Figure:
    """A long video's timeline: a band of labelled segments (top) over the probabilities
    of the top classes at each step (bottom), on one time axis."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.25, 0.75],
                        vertical_spacing=0.06)
    labels = list(dict.fromkeys(segments["label"]))
    palette = px.colors.qualitative.Plotly
    colour = {label: palette[i % len(palette)] for i, label in enumerate(labels)}
    for i, seg in enumerate(segments.itertuples()):
        fig.add_trace(go.Bar(
            x=[seg.length], base=[seg.start], y=["segments"], orientation="h",
            marker_color="#ced4da" if seg.label == "(unsure)" else colour[seg.label],
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
