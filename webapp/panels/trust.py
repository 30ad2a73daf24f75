"""Predict's familiarity verdict: an unfamiliar clip gets no confident class."""

from __future__ import annotations

import streamlit as st

from vidcore.views import evaluation_view, tables


def answers(prediction: dict) -> list[dict]:
    """The answers to show as metrics; for an unfamiliar clip a warning says what the
    model would have answered, and the one answer shown says it is unfamiliar."""
    given = tables.prediction_answers(prediction)
    shown = evaluation_view.shown_answers(prediction, given)
    if shown is not given:
        would = ", ".join(f"{a['title'].lower()}: {a['label']} ({a['confidence_text']})"
                          for a in given)
        st.warning(f"**This clip looks like nothing the model was trained on** "
                   f"({evaluation_view.UNFAMILIAR}), so its answers mean little. It would "
                   f"have said {would}.", icon=":material/help:")
    return shown
