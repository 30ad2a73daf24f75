"""Evaluate at 101 classes in real headless Chromium: a click picks exactly the cell under it,
in the focused matrix and in the whole 101 x 101 one (7.5 x 12 px cells).

Needs Debian's /usr/bin/chromium; skips without it, except when CI=true, where it fails.
"""

from __future__ import annotations

import pytest

from scripts.scale_world import make_evaluated_run, make_ucf_tree
from tests.web import EXCEPTION, SHOTS, click_cell, click_until, new_page, shoot, wait_idle
from vidcore import confusion, runs
from vidcore.views import tables

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(serve_app, tmp_path_factory) -> dict:
    """A 101-class UCF101-like tree with an evaluated run, served: its url and report."""
    tmp = tmp_path_factory.mktemp("browser-scale")
    dataset = make_ucf_tree(tmp / "data", 101, 101 * 30)
    run = make_evaluated_run(tmp / "runs", dataset)
    runs.set_active_model(run, root=tmp / "runs")
    server = serve_app({"VIDCORE_RUNS": str(tmp / "runs"), "VIDCORE_STORE": str(tmp / "store")})
    return {"url": server.url, "report": runs.read_json(run / runs.REPORT)}


@pytest.fixture(scope="module")
def page(browser, server):
    """One page on Evaluate for the whole file (the tests go on from each other's state)."""
    page = new_page(browser)
    page.goto(f"{server['url']}/evaluate")
    wait_idle(page)
    yield page
    page.context.close()


def _pairs(server):
    report = server["report"]
    frame = tables.confusion_frame(report, report["primary"])
    return frame, confusion.confused_pairs(frame)


def test_a_click_in_the_focused_matrix_picks_that_cell(page, server):
    frame, pairs = _pairs(server)
    shown = confusion.focus_classes(frame, "confused")
    inside = pairs[pairs["true"].isin(shown) & pairs["predicted"].isin(shown)]
    true, predicted, clips = inside.iloc[-1][["true", "predicted", "clips"]]
    picked = click_cell(page, 1, shown, true, predicted)
    assert picked.startswith(f"{true} → {predicted}: {clips} clip"), picked
    assert page.locator(EXCEPTION).count() == 0


def test_selecting_a_most_confused_pair_lists_its_clips(page, server):
    _, pairs = _pairs(server)
    # The page's first table (the accuracy intervals are in the cards).
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    row = 2  # the third worst pair; header and rows are 35 px, the row marker column ~30 px
    true, predicted, clips = pairs.iloc[row][["true", "predicted", "clips"]]
    wanted = f"{true} → {predicted}: {clips} clip"
    picker = page.locator('[data-testid="stSelectbox"]', has_text="Clips of one cell") \
        .locator("input")
    assert not picker.input_value().startswith(wanted)  # so the click is what changes it
    y = box["y"] + 35 + 35 * row + 17  # below the header, the middle of the row
    picked = click_until(page, lambda: page.mouse.click(box["x"] + 15, y), picker, wanted)
    assert picked.startswith(wanted), picked


def test_a_click_in_the_whole_101_class_matrix_picks_that_cell(page, server):
    frame, pairs = _pairs(server)
    page.locator('[data-testid="stButtonGroup"] button', has_text="All classes").first.click()
    wait_idle(page)
    page.get_by_text("101 of 101 classes").wait_for()
    classes = list(frame.index)
    for k in (3, len(pairs) // 2, len(pairs) - 1):  # mistakes of 1 clip among them
        true, predicted, clips = pairs.iloc[k][["true", "predicted", "clips"]]
        picked = click_cell(page, 1, classes, true, predicted)
        assert picked.startswith(f"{true} → {predicted}: {clips} clip"), (k, picked)
    shoot(page, SHOTS / "evaluate-101-all.png")
