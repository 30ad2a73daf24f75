"""Tables of streaming verdicts for charts: steps and segments (dicts) in, DataFrames out."""

from __future__ import annotations

import pandas as pd


def step_probabilities(steps: list[dict], aggregator: str, top: int = 3,
                       now: float | None = None) -> pd.DataFrame:
    """Long table ``time, class, probability`` of the ``top`` classes over the steps.

    Args:
        steps: ``Step.to_dict`` results, oldest first.
        aggregator: whose probabilities (e.g. the model's primary).
        top: classes kept: the highest mean probability over these steps.
        now: when given, times become seconds before it (negative: a rolling chart).
    """
    if not steps:
        return pd.DataFrame(columns=["time", "class", "probability"])
    wide = pd.DataFrame([s["probabilities"][aggregator] for s in steps])
    wide["time"] = [s["time"] - (now or 0.0) for s in steps]
    best = wide.drop(columns="time").mean().sort_values(ascending=False).index[:top]
    return wide.melt(id_vars="time", value_vars=list(best), var_name="class",
                     value_name="probability")


def segment_rows(segments: list[dict]) -> pd.DataFrame:
    """``start, end, length, label, confidence`` per segment (``(unsure)`` for no label,
    ``(unfamiliar)`` where the clip is unlike what the model was trained on)."""
    rows = [{"start": s["start"], "end": s["end"], "length": round(s["end"] - s["start"], 2),
             "label": s["label"] or ("(unfamiliar)" if s.get("unfamiliar") else "(unsure)"),
             "confidence": s["confidence"]}
            for s in segments]
    return pd.DataFrame(rows, columns=["start", "end", "length", "label", "confidence"])
