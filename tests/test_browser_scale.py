"""Evaluate at 101 classes in real headless Chromium: a click picks exactly the cell under it,
in the focused matrix and in the whole 101 x 101 one (7.5 x 12 px cells).

Needs Debian's /usr/bin/chromium; skips without it, except when CI=true, where it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.scale_world import make_evaluated_run, make_ucf_tree
from scripts.screenshots import (
    CHROMIUM,
    cell_centre,
    free_port,
    launch,
    shoot,
    start_server,
    stop_server,
    wait_healthy,
    wait_idle,
)
from vidcore import confusion, runs, tables

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (install Debian's chromium: make browser)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("browser-scale")
    dataset = make_ucf_tree(tmp / "data", 101, 101 * 30)
    run = make_evaluated_run(tmp / "runs", dataset)
    runs.set_active_model(run, root=tmp / "runs")
    port = free_port()
    proc = start_server({"VIDCORE_RUNS": str(tmp / "runs"), "VIDCORE_STORE": str(tmp / "store")},
                        port, tmp / "server.log")
    try:
        wait_healthy(port, proc)
        yield {"url": f"http://127.0.0.1:{port}", "report": runs.read_json(run / runs.REPORT)}
    finally:
        stop_server(proc)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(120_000)
        page.goto(f"{server['url']}/evaluate")
        wait_idle(page)
        yield page
        browser.close()


def _click(page, shown: list[str], true: str, predicted: str) -> str:
    """Click the cell's centre (retrying while plotly wires up); the cell picker's text."""
    area = page.locator('[data-testid="stPlotlyChart"]').nth(1).locator(".nsewdrag").first
    box_input = page.locator('[data-testid="stSelectbox"]', has_text="Clips of one cell") \
        .locator("input")
    for _ in range(3):
        page.mouse.click(*cell_centre(page, area, shown, true, predicted))
        wait_idle(page)
        if box_input.input_value().startswith(f"{true} → {predicted}:"):
            break
    return box_input.input_value()


def _pairs(server):
    frame = tables.confusion_frame(server["report"], server["report"]["primary"])
    return frame, confusion.confused_pairs(frame)


def test_a_click_in_the_focused_matrix_picks_that_cell(page, server):
    frame, pairs = _pairs(server)
    shown = confusion.focus_classes(frame, "confused")
    inside = pairs[pairs["true"].isin(shown) & pairs["predicted"].isin(shown)]
    true, predicted, clips = inside.iloc[-1][["true", "predicted", "clips"]]
    picked = _click(page, shown, true, predicted)
    assert picked.startswith(f"{true} → {predicted}: {clips} clip"), picked
    assert page.locator('[data-testid="stException"]').count() == 0


def test_selecting_a_most_confused_pair_lists_its_clips(page, server):
    _, pairs = _pairs(server)
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    row = 2  # the third worst pair; header and rows are 35 px, the row marker column ~30 px
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 35 * row + 17)
    wait_idle(page)
    true, predicted, clips = pairs.iloc[row][["true", "predicted", "clips"]]
    picked = page.locator('[data-testid="stSelectbox"]', has_text="Clips of one cell") \
        .locator("input").input_value()
    assert picked.startswith(f"{true} → {predicted}: {clips} clip"), picked


def test_a_click_in_the_whole_101_class_matrix_picks_that_cell(page, server):
    frame, pairs = _pairs(server)
    page.locator('[data-testid="stButtonGroup"] button', has_text="All classes").first.click()
    wait_idle(page)
    page.get_by_text("101 of 101 classes").wait_for()
    classes = list(frame.index)
    for k in (3, len(pairs) // 2, len(pairs) - 1):  # mistakes of 1 clip among them
        true, predicted, clips = pairs.iloc[k][["true", "predicted", "clips"]]
        picked = _click(page, classes, true, predicted)
        assert picked.startswith(f"{true} → {predicted}: {clips} clip"), (k, picked)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shoot(page, SHOTS / "evaluate-101-all.png")
