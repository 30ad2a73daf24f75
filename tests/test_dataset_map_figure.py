"""The map's plotly figures on generated tables: traces, colours, what a point carries."""

from __future__ import annotations

import pandas as pd

from vidcore.views import map_view


def _table(classes: int, per_class: int = 3) -> pd.DataFrame:
    rows = [{"path": f"c{c:03d}/v{k}.avi", "x": c + k / 10, "y": k, "class": f"c{c:03d}",
             "group": f"g{c}", "split": "test" if k == 0 else "train", "issue": "none"}
            for c in range(classes) for k in range(per_class)]
    return pd.DataFrame(rows)


def test_many_classes_make_one_trace_with_each_points_class_colour():
    table = _table(101)
    fig = map_view.map_figure(table, "class")
    assert len(fig.data) == 1 and not fig.layout.showlegend
    trace = fig.data[0]
    colors = dict(zip(trace.customdata, trace.marker.color, strict=True))
    assert set(trace.customdata) == set(table["path"])
    by_class = table.assign(color=table["path"].map(colors)).groupby("class")["color"]
    assert (by_class.nunique() == 1).all()  # one colour a class
    first = by_class.first()
    assert first.iloc[:len(map_view.PALETTE)].is_unique  # distinct until the palette cycles
    assert first.iloc[len(map_view.PALETTE)] == first.iloc[0]
    assert all(c.startswith("#") for c in trace.marker.color)


def test_few_classes_make_a_trace_each_with_a_legend():
    table = _table(5)
    fig = map_view.map_figure(table, "class")
    assert [t.name for t in fig.data] == sorted(table["class"].unique())
    assert fig.layout.showlegend
    assert all(isinstance(t.marker.color, str) for t in fig.data)


def test_a_click_names_the_clip_and_hover_shows_its_path():
    table = _table(30)
    for fig in (map_view.map_figure(table, "recording"),
                map_view.verdict_figure(table, pd.DataFrame({"path": table["path"][:4],
                                                             "correct": [1, 0, 1, 0]}))):
        trace = fig.data[-1]
        assert trace.hovertemplate == "%{customdata}<extra></extra>"
        point = {"points": [{"customdata": trace.customdata[0]}]}
        assert map_view.picked_path(point) == trace.customdata[0]
