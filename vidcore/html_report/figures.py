"""The report's plotly figures: the app's own confusion and per-class charts, plus
accuracy with intervals and the reliability diagram.

The confusion matrix and per-class bars come from ``vidcore.views.charts``, the module the
app's pages draw with, so the report draws them exactly as Evaluate does, at 101
classes too.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from vidcore.confusion import FULL_VIEW_MAX, focus_classes
from vidcore.views import charts

MARGIN = {"t": 30, "b": 10, "l": 10, "r": 10}
METRICS = {"top1": "top-1", "mean_class_accuracy": "mean class accuracy"}
COLORS = {"top1": "#3b5bdb", "mean_class_accuracy": "#f08c00"}




def interval_bars(aggregators: list[dict]) -> go.Figure:
    """Top-1 and mean class accuracy per aggregator, with their 95% intervals as error bars."""
    fig = go.Figure()
    labels = [a["label"] for a in aggregators]
    for key, name in METRICS.items():
        values = [a[key] for a in aggregators]
        low = [a[key] - a[f"{key}_ci"][0] for a in aggregators]
        high = [a[f"{key}_ci"][1] - a[key] for a in aggregators]
        text = [f"{v:.1%}<br>{a[f'{key}_ci'][0]:.1%}-{a[f'{key}_ci'][1]:.1%}"
                for v, a in zip(values, aggregators, strict=True)]
        fig.add_bar(x=labels, y=values, name=name, marker_color=COLORS[key], text=text,
                    textposition="outside", cliponaxis=False,
                    error_y={"type": "data", "symmetric": False, "array": high,
                             "arrayminus": low, "color": "#343a40"})
    fig.update_layout(barmode="group", yaxis_range=[0, 1.2], yaxis_tickformat=".0%",
                      yaxis_tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1.0],  # room above for labels
                      yaxis_title="Share of test clips (bars: 95% interval)",
                      xaxis_title="Aggregator", margin=MARGIN, height=380,
                      legend_title_text="")
    return fig


def reliability_figure(calibration: list[dict]) -> go.Figure:
    """Accuracy against mean confidence per confidence bin, one line per aggregator (and
    after temperature scaling, dashed, where known); the diagonal is perfect calibration."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
                    line={"color": "#adb5bd", "dash": "dot"})
    for entry in calibration:
        _reliability_line(fig, entry["aggregator"], entry["ece"], entry["bins"], "solid")
        if entry.get("bins_calibrated"):
            _reliability_line(fig, f"{entry['aggregator']} (temperature)",
                              entry["ece_calibrated"], entry["bins_calibrated"], "dash")
    fig.update_layout(xaxis_title="Confidence shown (mean of the bin)",
                      yaxis_title="Share right in the bin", xaxis_range=[0, 1.02],
                      yaxis_range=[0, 1.02], xaxis_tickformat=".0%", yaxis_tickformat=".0%",
                      margin=MARGIN, height=420, legend_title_text="")
    return fig


def _reliability_line(fig: go.Figure, name: str, ece: float, bins: list[dict], dash: str):
    full = [b for b in bins if b["clips"]]
    total = sum(b["clips"] for b in full)
    fig.add_scatter(x=[b["confidence"] for b in full], y=[b["accuracy"] for b in full],
                    mode="lines+markers", name=f"{name} (ECE {ece:.3f})",
                    line={"dash": dash}, customdata=[[b["clips"]] for b in full],
                    # marker area ~ clips: a bin of 2 clips zig-zagging is not a finding
                    marker={"size": [5 + 20 * math.sqrt(b["clips"] / total) for b in full]},
                    hovertemplate="confidence %{x:.1%}<br>right %{y:.1%}<br>"
                                  "%{customdata[0]} clips<extra></extra>")


def _frame(confusion: dict) -> pd.DataFrame:
    classes = confusion["classes"]
    return pd.DataFrame(confusion["matrix"], index=pd.Index(classes, name="true"),
                        columns=pd.Index(classes, name="predicted"))


def confusion_figures(confusion: dict) -> list[tuple[str, go.Figure]]:
    """The whole matrix, and above ``FULL_VIEW_MAX`` classes also the most confused
    classes' part (Evaluate's default view there): ``[(caption, figure), ...]``."""
    frame = _frame(confusion)
    figures = [(f"All {len(frame)} classes", charts.confusion_heatmap(frame))]
    shown = focus_classes(frame, "confused")
    if len(frame) > FULL_VIEW_MAX and shown:
        figures.append((f"The {len(shown)} classes of the worst mistakes",
                        charts.confusion_heatmap(frame.loc[shown, shown],
                                                 totals=frame.sum(axis=1))))
    return figures


def class_accuracy_figure(per_class: list[dict]) -> go.Figure:
    """Evaluate's per-class accuracy bars, worst on top."""
    return charts.class_accuracy_bars(pd.DataFrame(per_class))
