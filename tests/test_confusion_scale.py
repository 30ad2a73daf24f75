"""The confusion view at 10, 101 and 400 classes: legible figures, exact cells, focus, pairs."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from scripts.scale_world import class_names, fake_probabilities
from vidcore import confusion
from vidcore.errors import InputError
from vidcore.views import charts, tables
from webapp.panels import evaluation

SIZES = (10, 101, 400)


def confusion_of(n: int, per_class: int = 20, seed: int = 0) -> pd.DataFrame:
    """A matrix as an evaluation makes it: fake predictions of ``per_class`` clips a class."""
    true = np.repeat(np.arange(n), per_class)
    predicted = fake_probabilities(true, n, seed).argmax(1)
    values = np.zeros((n, n), int)
    np.add.at(values, (true, predicted), 1)
    names = class_names(n)
    return pd.DataFrame(values, index=pd.Index(names, name="true"),
                        columns=pd.Index(names, name="predicted"))


@pytest.fixture(scope="module", params=SIZES)
def matrix(request):
    frame = confusion_of(request.param)
    return frame, charts.confusion_heatmap(frame)


def _markers(fig):
    return next(t for t in fig.data if t.type == "scatter")


def test_axis_ranges_are_exactly_the_cells(matrix):
    frame, fig = matrix
    n = len(frame)
    assert list(fig.layout.xaxis.range) == [-0.5, n - 0.5]
    assert list(fig.layout.yaxis.range) == [n - 0.5, -0.5]  # first class on top
    assert fig.layout.xaxis.automargin is False and fig.layout.yaxis.automargin is False
    geo = charts.confusion_geometry(n, max(map(len, frame.index)))
    assert fig.layout.width == geo["width"] and fig.layout.height == geo["height"]
    plot_w = fig.layout.width - geo["margin"]["l"] - geo["margin"]["r"]
    assert plot_w == pytest.approx(n * geo["cell_w"], abs=1)


def test_numbers_only_while_legible(matrix):
    frame, fig = matrix
    n = len(frame)
    geo = charts.confusion_geometry(n)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == 2  # right answers, mistakes
    if min(geo["cell_w"], geo["cell_h"]) < charts.TEXT_MIN_CELL:
        assert all(h.texttemplate is None and h.text is None for h in heatmaps), n
        assert n > 30
    else:
        assert n == 10
        shown = [t for h in heatmaps for row in h.text for t in row if t]
        assert sorted(map(int, shown)) == sorted(frame.to_numpy()[frame.to_numpy() > 0])
        assert all(h.textfont.size >= 9 for h in heatmaps)


def test_axis_names_never_overlap_and_both_axes_are_titled(matrix):
    frame, fig = matrix
    n, geo = len(frame), charts.confusion_geometry(len(frame))
    x, y = fig.layout.xaxis, fig.layout.yaxis
    assert x.title.text == "Predicted class" and y.title.text == "True class"
    assert x.side == "top"  # the predicted names sit above the first rows, not 3,000 px down
    font = x.tickfont.size
    assert font >= charts.LABEL_FONT_MIN and y.tickfont.size == font
    x_step = list(frame.columns).index(x.tickvals[1])
    y_step = list(frame.index).index(y.tickvals[1])
    assert x_step * geo["cell_w"] >= font and y_step * geo["cell_h"] >= font
    assert len(x.tickvals) == math.ceil(n / x_step) and len(y.tickvals) == math.ceil(n / y_step)
    if n <= 101:
        assert list(y.tickvals) == list(frame.index)  # every true class named


def test_one_marker_per_clip_cell_never_bigger_than_the_cell(matrix):
    frame, fig = matrix
    values = frame.to_numpy()
    markers = _markers(fig)
    assert len(markers.x) == int((values > 0).sum())  # empty cells: no clips, no marker
    geo = charts.confusion_geometry(len(frame))
    assert markers.marker.size <= min(geo["cell_w"], geo["cell_h"])
    assert fig.layout.hoverdistance == 1  # a click in an empty cell selects no neighbour
    for x, y, (count, share) in zip(markers.x, markers.y, markers.customdata, strict=True):
        assert frame.loc[y, x] == count
        assert share == pytest.approx(count / frame.loc[y].sum())


def test_a_click_selects_the_cell_under_the_pointer(matrix):
    """Pixels of random points in non-empty cells -> nearest marker (plotly's rule for
    equal markers) -> the cell Streamlit's selection names -> the cell picker's entry."""
    frame, fig = matrix
    geo = charts.confusion_geometry(len(frame))
    markers = _markers(fig)
    classes = list(frame.index)
    centres = np.array([[(classes.index(x) + 0.5) * geo["cell_w"],
                         (classes.index(y) + 0.5) * geo["cell_h"]]
                        for x, y in zip(markers.x, markers.y, strict=True)])
    report = {"classes": classes, "aggregators": {"mode": {"confusion": frame.to_numpy().tolist()}}}
    cells = tables.confusion_cells(report, "mode")
    rng = np.random.default_rng(1)
    for k in rng.choice(len(markers.x), 25):
        # anywhere within the marker square drawn over the cell
        half = markers.marker.size / 2 - 0.01
        point = centres[k] + rng.uniform(-half, half, 2)
        hit = int(np.argmin(((centres - point) ** 2).sum(1)))
        state = {"chart": SimpleNamespace(selection={"points": [
            {"x": markers.x[hit], "y": markers.y[hit]}]})}
        ui_state = _pick(state, cells)
        assert ui_state["cell"] == (markers.y[k], markers.x[k], markers.customdata[k][0])


def _pick(state: dict, cells: list) -> dict:
    """Run ``evaluation.cell_picked`` against a plain dict standing in for the session state."""
    real = evaluation.st.session_state
    evaluation.st.session_state = state
    try:
        evaluation.cell_picked("chart", "cell", cells)
    finally:
        evaluation.st.session_state = real
    return state


@pytest.mark.parametrize("n", SIZES)
def test_per_class_bars_name_every_class_with_its_counts(n):
    frame = confusion_of(n)
    per_class = confusion.class_accuracy(frame)
    fig = charts.class_accuracy_bars(per_class)
    bar = fig.data[0]
    assert bar.orientation == "h" and len(bar.y) == n
    assert list(bar.x) == sorted(bar.x)  # worst first (on top: the axis is reversed)
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.height >= 18 * n  # a bar per 18 px: every name fits at 11 px
    right, clips = per_class.iloc[0][["right", "clips"]]
    assert bar.text[0] == f"{right} of {clips}"


def test_focus_most_confused_keeps_the_worst_pairs_in_view():
    frame = confusion_of(101)
    shown = confusion.focus_classes(frame, "confused", count=20)
    assert 19 <= len(shown) <= 20 and shown == [c for c in frame.index if c in shown]
    pairs = confusion.confused_pairs(frame)
    inside = pairs["true"].isin(shown) & pairs["predicted"].isin(shown)
    first_out = int(np.argmin(inside.to_numpy()))
    assert first_out >= 9  # the worst pairs (10 at least, for 20 classes) are all in view
    assert inside[:first_out].all()
    assert confusion.default_focus(101) == "confused" and confusion.default_focus(10) == "all"


def test_focus_on_one_class_shows_its_row_and_column():
    frame = confusion_of(101)
    center = confusion.confused_pairs(frame).iloc[0]["true"]
    shown = confusion.focus_classes(frame, "class", center=center)
    sub = frame.loc[shown, shown]
    assert center in shown
    # nothing of the class's row or column is lost by the focus
    assert sub.loc[center].sum() == frame.loc[center].sum()
    assert sub[center].sum() == frame[center].sum()


def test_focus_on_chosen_classes_and_bad_choices():
    frame = confusion_of(10)
    picked = [frame.index[7], frame.index[2]]
    assert confusion.focus_classes(frame, "chosen", chosen=picked) == picked[::-1]
    with pytest.raises(InputError, match="choose one or more"):
        confusion.focus_classes(frame, "chosen", chosen=[])
    with pytest.raises(InputError, match="unknown class"):
        confusion.focus_classes(frame, "class", center="NoSuchClass")
    with pytest.raises(InputError, match="valid: all, confused"):
        confusion.focus_classes(frame, "everything")


def test_confused_pairs_are_the_mistakes_worst_first():
    frame = confusion_of(101)
    pairs = confusion.confused_pairs(frame)
    values = frame.to_numpy()
    assert pairs["clips"].sum() == values.sum() - np.trace(values)
    assert (pairs["true"] != pairs["predicted"]).all()
    assert list(pairs["clips"]) == sorted(pairs["clips"], reverse=True)
    first = pairs.iloc[0]
    assert first["share"] == pytest.approx(first["clips"] / frame.loc[first["true"]].sum())
    assert len(confusion.confused_pairs(frame, top=5)) == 5


def test_geometry_keeps_names_apart_at_every_count():
    for n in range(2, 1001):
        geo = charts.confusion_geometry(n)
        label = geo["font"] + 2
        assert geo["x_step"] * geo["cell_w"] >= label and geo["y_step"] * geo["cell_h"] >= label
        assert (geo["x_step"] - 1) * geo["cell_w"] < label  # no more names left out than needed
        assert geo["y_step"] == 1 or n > 200, n  # every true class named up to 200 classes
        assert geo["height"] <= charts.PLOT_HEIGHT_MAX + 400 and geo["width"] < 1100
        assert geo["text"] == (min(geo["cell_w"], geo["cell_h"]) >= charts.TEXT_MIN_CELL)
