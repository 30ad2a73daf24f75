"""Every chart of the app has titled axes and draws the data it is given."""

import pandas as pd
import pytest

from vidcore import confusion
from vidcore.views import charts, tables

REPORT = {
    "classes": ["A", "B"], "primary": "temporal",
    "aggregators": {
        "temporal": {"top1": 1.0, "top5": 1.0, "mean_class_accuracy": 1.0,
                     "per_class": {"A": 1.0, "B": 1.0}, "confusion": [[2, 0], [0, 1]]},
        "mode": {"top1": 2 / 3, "top5": 1.0, "mean_class_accuracy": 0.75,
                 "per_class": {"A": 1.0, "B": 0.5}, "confusion": [[2, 0], [1, 0]]},
    },
}


def _titles(fig):
    return [fig.layout[a].title.text for a in ("xaxis", "yaxis")]


@pytest.mark.parametrize("fig", [
    charts.counts_bar(pd.DataFrame({"class": ["A"], "split": ["train"], "videos": [3]})),
    charts.aggregator_bars(tables.aggregator_long(REPORT)),
    charts.class_accuracy_bars(confusion.class_accuracy(tables.confusion_frame(REPORT, "mode"))),
    charts.confusion_heatmap(tables.confusion_frame(REPORT, "mode")),
    charts.training_curves(
        tables.epoch_frame([{"kind": "epoch", "epoch": 1, "loss": 1.0, "val_loss": 1.2,
                             "accuracy": 0.5, "val_accuracy": 0.4}]), pd.DataFrame()),
])
def test_axes_are_titled(fig):
    assert all(_titles(fig)), _titles(fig)
    assert fig.data


def test_confusion_cells_can_be_clicked():
    fig = charts.confusion_heatmap(tables.confusion_frame(REPORT, "mode"))
    markers = [t for t in fig.data if t.type == "scatter"]
    assert len(markers) == 1 and len(markers[0].x) == 2  # one per cell with clips
    assert fig.layout.clickmode == "event+select"


def test_report_tables_show_the_gain_over_the_vote():
    aggs = tables.aggregator_frame(REPORT).set_index("aggregator")
    assert aggs.loc["temporal", "gain"] == pytest.approx(1 / 3)
    assert bool(aggs.loc["temporal", "primary"]) and not aggs.loc["mode", "primary"]
    assert tables.confusion_cells(REPORT, "mode")[0] == ("B", "A", 1)  # mistakes first


def test_small_matrices_are_not_tiny_and_big_ones_keep_their_cells():
    assert 2 * charts.confusion_geometry(2)["cell_w"] >= charts.MATRIX_MIN
    assert charts.confusion_geometry(10)["cell_w"] == charts.CELL_MAX
    assert charts.confusion_geometry(101)["cell_w"] < charts.CELL_MAX


def test_a_class_has_one_colour_in_every_chart():
    classes = ["Kick", "Punch", "Wave"]
    probs = pd.DataFrame({"time": [0.0, 0.5, 0.0, 0.5], "frame": [0, 1, 0, 1],
                          "class": ["Wave", "Wave", "Punch", "Punch"],
                          "probability": [0.7, 0.6, 0.3, 0.4]})
    lines = {t.name: t.line.color for t in charts.frame_probability_lines(probs, classes).data}
    segments = pd.DataFrame({"start": [0.0], "end": [1.0], "length": [1.0],
                             "label": ["Wave"], "confidence": [0.7]})
    band = charts.timeline_band(segments, probs, 1.0, classes)
    colours = {t.name: getattr(t.marker, "color", None) or t.line.color for t in band.data
               if t.name in classes}
    assert lines["Wave"] == colours["Wave"] == charts.class_colours(classes)["Wave"]
    assert lines["Punch"] == charts.class_colours(classes)["Punch"] != lines["Wave"]
