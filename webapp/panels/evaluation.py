"""Evaluate's moving parts: running an evaluation, a confusion-matrix click picking a cell."""

from __future__ import annotations

import streamlit as st

from vidcore.models.loading import model_version
from webapp.boundary import guard
from webapp.caches import cached_model


def run_evaluation(run_dir: str) -> None:
    """Evaluate a run with a progress bar, then rerun the page to show its report."""
    from vidcore.evaluate import evaluate

    bar = st.progress(0.0, text="Reading the test clips…")

    def progress(event: dict) -> None:
        done, total = event.get("done", 0), event.get("total") or 1
        bar.progress(min(1.0, done / total),
                     text=f"Extracting test features: {done} of {total} clips · "
                          f"{event.get('frames_per_second', 0):.1f} frames/s")

    with st.spinner("Evaluating: features of every test clip, then every aggregator…"), \
            guard("Evaluating the model"):
        model = cached_model(run_dir, model_version(run_dir))
        evaluate(run_dir, progress=progress, model=model)
    st.rerun()


def cell_picked(chart_key: str, cell_key: str, cells: list) -> None:
    """Heatmap click -> select that (true, predicted) cell in the cell selectbox."""
    points = st.session_state[chart_key].selection.get("points", [])
    if points:
        select_cell(cell_key, cells, points[0].get("y"), points[0].get("x"))


def select_cell(cell_key: str, cells: list, true, predicted) -> None:
    """Set the cell selectbox to the ``(true, predicted, clips)`` cell of those classes."""
    match = [c for c in cells if c[0] == true and c[1] == predicted]
    if match:
        st.session_state[cell_key] = match[0]
