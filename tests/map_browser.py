"""The dataset map in Chromium: where a clip's point is drawn, clicking it.

Shared by tests/test_dataset_map_browser.py and benchmarks/dataset_map_browser.py.
A WebGL scatter has no element per point, so the point's window position comes from
plotly's own axes (``_fullLayout``) over the chart's bounding box.
"""

from __future__ import annotations

MAP_CHART = '[data-testid="stPlotlyChart"]'

# The window coordinates of the point whose customdata names ``path`` in the first
# scattergl chart (``_fullData``: its arrays decoded, ``data`` may hold base64 ones),
# scrolled into view first; null when no such point is drawn.
_POINT = """path => {
  const gd = [...document.querySelectorAll('.js-plotly-plot')]
    .find(g => g.data && g.data.length && g.data[0].type === 'scattergl');
  if (!gd) return null;
  gd.scrollIntoView({block: 'center'});
  for (const trace of gd._fullData) {
    const j = [...trace.customdata].findIndex(c => c === path);
    if (j < 0) continue;
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
    const box = gd.getBoundingClientRect();
    return {x: box.left + xa._offset + xa.l2p(trace.x[j]),
            y: box.top + ya._offset + ya.l2p(trace.y[j])};
  }
  return null;
}"""


def point_position(page, path: str) -> dict | None:
    """``{"x", "y"}``: where the map draws the clip ``path`` in the window, or None."""
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                           ".some(g => g.data && g.data[0] && g.data[0].type === 'scattergl')")
    return page.evaluate(_POINT, path)


def click_point(page, path: str) -> None:
    """Hover, then click the clip's point (scattergl picks the point under the mouse)."""
    spot = point_position(page, path)
    assert spot is not None, f"{path} is not on the map"
    page.mouse.move(spot["x"], spot["y"])
    page.wait_for_timeout(200)
    page.mouse.click(spot["x"], spot["y"])
