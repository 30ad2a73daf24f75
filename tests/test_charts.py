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
