"""The dataset map as the pages show it: tables from a map job's result, WebGL scatters.

A finished job (``vidcore.views.map_jobs``) holds what ``vidcore inspect --json``
prints and the map's CSV (``path,x,y,class,label,group,split``). Here they become the
map table (with each clip's issue), the near-duplicate and label-issue tables, and
plotly ``scattergl`` figures: one point per clip, coloured by class, split, recording
or issue, or by a run's verdict on its test clips. Every point carries its clip's
path as ``customdata``, so a click names the clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from vidcore.features import FeatureSpec
from vidcore.views.tables import SPLIT_COLORS

COLOR_BY = {"class": "class", "split": "split", "recording": "group", "issue": "issue"}
NO_ISSUE, LABEL_ISSUE = "none", "likely label issue"
CROSS_SPLIT, DUPLICATE = "near-duplicate across the split", "near-duplicate"
ISSUE_COLORS = {NO_ISSUE: "#ced4da", DUPLICATE: "#f08c00", CROSS_SPLIT: "#e03131",
                LABEL_ISSUE: "#7048e8"}
VERDICT_COLORS = {"not a test clip": "#dee2e6", "right": "#2f9e44", "wrong": "#e03131"}
LEGEND_MAX = 24  # more categories than this: one trace, colours cycled, no legend
PALETTE = plotly.colors.qualitative.Dark24 + plotly.colors.qualitative.Light24
MARGIN = {"t": 10, "b": 10, "l": 10, "r": 10}
# plotly.js config for the map charts (``st.plotly_chart(config=...)``). plotly.js draws
# WebGL at twice the chart's size by default (plotGlPixelRatio 2), in two contexts
# (points, selection); where WebGL is software (no GPU, headless Chromium) allocating
# and clearing those 4x-area antialiased buffers held the page's main thread longest.
# At 1 the points are drawn at the chart's CSS size: on a 2x (HiDPI) screen their edges
# are softer; the axes, hover labels and legend are SVG and stay sharp.
PLOT_CONFIG = {"plotGlPixelRatio": 1}


def map_spec(sampler) -> FeatureSpec:
    """The features the Dataset page maps with: the active model's backbone and weights
    (the shipped demo model's when none is active; the default preset's without
    either), with ``sampler`` (the sidebar's), so the map shows what models see."""
    from vidcore import runs
    from vidcore.presets import DEFAULT_PRESET, get_preset

    model = runs.active_model() or runs.DEMO_MODEL_DIR
    config = runs.read_json(Path(model) / runs.CONFIG, None)
    if isinstance(config, dict) and config.get("backbone"):
        return FeatureSpec(config["backbone"], config.get("weights"), sampler,
                           flip=bool(config.get("flip", False)))
    preset = get_preset(DEFAULT_PRESET).values
    return FeatureSpec(preset["backbone"], preset["weights"], sampler,
                       flip=preset.get("flip", False))


def map_table(csv_path, result: dict) -> pd.DataFrame:
    """The map's clips with their coordinates and, per clip, its worst issue.

    Args:
        csv_path: the map's CSV (``result["map"]["file"]``).
        result: the job's result (duplicates and label issues).
    """
    table = pd.read_csv(csv_path, dtype={"group": str, "path": str})
    issue = pd.Series(NO_ISSUE, index=table["path"])
    for pair in result.get("duplicates", []):
        kind = CROSS_SPLIT if pair["cross_split"] else DUPLICATE
        for path in (pair["a"], pair["b"]):
            if path in issue.index and issue[path] != CROSS_SPLIT:
                issue[path] = kind
    for row in result.get("label_issues", []):
        if row["path"] in issue.index:
            issue[row["path"]] = LABEL_ISSUE
    return table.assign(issue=issue.to_numpy())


def duplicates_frame(result: dict) -> pd.DataFrame:
    """The near-duplicate pairs in order of concern (cross-split first)."""
    return pd.DataFrame(result.get("duplicates", []),
                        columns=["a", "b", "similarity", "cross_split", "same_group"])


def issues_frame(result: dict) -> pd.DataFrame:
    """The likely label issues, most likely first."""
    return pd.DataFrame(result.get("label_issues", []),
                        columns=["path", "given", "suggested", "score"])


def _trace(table: pd.DataFrame, name: str, color, size: float = 6, **marker) -> go.Scattergl:
    # The path is the point's only per-point text: hover shows it, a click returns it.
    # (Class, group and split as text too made 13,320 points a 2.8 MB figure.) One
    # string a point, not a one-item list: 13,320 fewer arrays for the browser to parse,
    # copy and collect on the first draw.
    return go.Scattergl(x=table["x"].to_numpy(np.float32), y=table["y"].to_numpy(np.float32),
                        mode="markers", name=name, marker={"color": color, "size": size,
                                                           **marker},
                        customdata=table["path"].to_numpy(),
                        hovertemplate="%{customdata}<extra></extra>")


def _colors(table: pd.DataFrame, column: str) -> dict:
    values = sorted(table[column].astype(str).unique())
    if column == "split":
        return {v: SPLIT_COLORS.get(v, "#868e96") for v in values}
    if column == "issue":
        return {v: ISSUE_COLORS[v] for v in ISSUE_COLORS if v in values}
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(values)}


def _cycled(values: pd.Series) -> np.ndarray:
    """Marker colours for many categories: each point's palette colour as a hex string.

    Why strings: plotly.js turns a numeric colour array on a colour scale into colours
    one point at a time, through the scale and back through a colour parser (13,320
    points: a few hundred ms of the first draw on a loaded 2-core machine); a hex
    string a point is only parsed, for about 100 kB more JSON.
    """
    codes = pd.factorize(values, sort=True)[0] % len(PALETTE)
    return np.asarray(PALETTE, dtype=object)[codes]


def map_figure(table: pd.DataFrame, color_by: str = "class", height: int = 560) -> go.Figure:
    """Every clip as a WebGL point, coloured by ``COLOR_BY[color_by]``.

    Up to ``LEGEND_MAX`` colours get one trace each (a legend that hides and shows
    them); more (101 classes, thousands of recordings) make one trace whose colours
    cycle, so the browser draws one WebGL batch whatever the count.
    """
    column = COLOR_BY[color_by]
    colors = _colors(table, column)
    values = table[column].astype(str)
    fig = go.Figure()
    if len(colors) <= LEGEND_MAX:
        for value, color in colors.items():
            fig.add_trace(_trace(table[values == value], value, color))
    else:
        fig.add_trace(_trace(table, "clips", _cycled(values)))
    return _tidy(fig, height, legend=len(colors) <= LEGEND_MAX)


def verdict_figure(table: pd.DataFrame, verdicts: pd.DataFrame,
                   height: int = 520) -> go.Figure:
    """The map with a run's test clips marked right or wrong, the other clips grey.

    Args:
        table: ``map_table`` output.
        verdicts: ``path`` and ``correct`` per test clip.
    """
    right = dict(zip(verdicts["path"], verdicts["correct"].astype(bool), strict=True))
    kind = table["path"].map(lambda p: "not a test clip" if p not in right
                             else "right" if right[p] else "wrong")
    fig = go.Figure()
    for name, color in VERDICT_COLORS.items():
        part = table[kind == name]
        if name == "wrong":
            fig.add_trace(_trace(part, name, color, 9, symbol="x"))
        else:
            fig.add_trace(_trace(part, name, color, 4 if name == "not a test clip" else 7))
    return _tidy(fig, height, legend=True)


def _tidy(fig: go.Figure, height: int, legend: bool) -> go.Figure:
    fig.update_layout(height=height, margin=MARGIN, showlegend=legend, legend_title_text="",
                      dragmode="pan", clickmode="event+select", hovermode="closest",
                      xaxis={"visible": False}, yaxis={"visible": False,
                                                       "scaleanchor": "x"})
    return fig


def picked_path(selection) -> str | None:
    """The clip a plotly selection event names (its first point's ``customdata``)."""
    points = (selection or {}).get("points", []) if isinstance(selection, dict) \
        else getattr(selection, "points", [])
    for point in points:
        data = point.get("customdata")
        if data:
            return data[0] if isinstance(data, list | tuple) else str(data)
    return None
