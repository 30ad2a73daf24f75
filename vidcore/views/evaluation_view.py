"""What Evaluate shows a model's judge, without Streamlit: intervals, calibration, a
comparison of two runs, in words and tables.

The figures are the HTML report's (``vidcore.html_report.figures``) and the numbers
the library's (``vidcore.results``, ``vidcore.calibration``, ``vidcore.comparison``),
so the page, the report and ``vidcore compare`` say the same.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from vidcore.views.tables import aggregator_label

MARGIN = {"t": 30, "b": 10, "l": 10, "r": 10}
LUCK_P = 0.05  # below this, a McNemar p-value is called "unlikely to be luck"


def interval_text(value: float, ci: list[float]) -> str:
    """``91.0% (88.2–93.5%)``: a figure with its 95% interval."""
    return f"{value:.1%} ({ci[0]:.1%}–{ci[1]:.1%})"


def card_intervals(aggregators: list[dict]) -> dict[str, dict[str, str]]:
    """Per aggregator name (``html_report.content.aggregator_figures`` rows), the 95%
    intervals by recording of top-1 and mean class accuracy, as a card's caption:
    ``{"temporal": {"top1": "95% interval 88.2–93.5%", ...}}``."""
    return {row["name"]: {metric: f"95% interval {row[ci][0]:.1%}–{row[ci][1]:.1%}"
                          for metric, ci in (("top1", "top1_ci"),
                                             ("mean_class_accuracy", "mean_class_accuracy_ci"))}
            for row in aggregators}


def calibration_frame(calibration: list[dict]) -> pd.DataFrame:
    """Per aggregator (``calibration_figures`` rows): ECE before and after temperature
    scaling on the test clips, and the temperature, or why there is none."""
    rows = []
    for row in calibration:
        if row["aggregator"] == "mode":
            after = "no temperature: a vote share is not a probability"
        elif row["temperature"] is None:
            after = "no temperature fitted"
        elif row["ece_calibrated"] is None:
            after = "evaluate again to measure it"
        else:
            after = f"{row['ece_calibrated']:.3f}"
        rows.append({"aggregator": aggregator_label(row["aggregator"]),
                     "ECE": f"{row['ece']:.3f}", "temperature": (
                         "–" if row["temperature"] is None else f"{row['temperature']:.3f}"),
                     "ECE after temperature": after})
    return pd.DataFrame(rows)


def calibration_note(calibration: list[dict]) -> str:
    """One sentence: whether the run has temperatures, and what ECE means."""
    fitted = any(row["temperature"] is not None for row in calibration)
    what = ("ECE (expected calibration error) is the gap between the confidence shown and "
            "the share of answers right, averaged over 15 confidence bins: 0 is perfect.")
    if fitted:
        return f"{what} Temperatures were fitted on the validation clips at training."
    return (f"{what} This run has no calibration.json: no temperature was fitted, so "
            "confidences are shown as the model gives them.")


def comparison_summary(result: dict) -> str:
    """What ``compare_runs`` found, in two sentences a non-programmer can read."""
    a, b = result["a"]["name"], result["b"]["name"]
    only_a, only_b, p = result["only_a"], result["only_b"], result["p_value"]
    if only_a + only_b == 0:
        return (f"On the {result['clips']} test clips both runs are right on exactly the "
                "same clips: no difference at all.")
    verdict = ("unlikely to be luck of the test clips" if p < LUCK_P else
               "could well be luck of the test clips")
    return (f"Of {result['clips']} test clips, {only_b} are right only with **{b}** and "
            f"{only_a} only with **{a}** ({result['both_right']} right and "
            f"{result['both_wrong']} wrong with both). Exact McNemar test: p = {p:.3g}, "
            f"so the difference {verdict}.")


def verdicts_frame(result: dict) -> pd.DataFrame:
    """Each run's verdict top-1 with its interval, one row per run."""
    return pd.DataFrame([{"run": side["name"], "head": side["head"],
                          "top-1 (95% interval)": interval_text(side["top1"], side["top1_ci"]),
                          "mean class accuracy (95% interval)": interval_text(
                              side["mean_class_accuracy"], side["mean_class_accuracy_ci"])}
                         for side in (result["a"], result["b"])])


def class_differences_figure(result: dict) -> go.Figure:
    """Per class, run B's top-1 minus run A's, as horizontal bars (worst for B first)."""
    rows = sorted(result["per_class"], key=lambda r: (r["difference"], r["class"]))
    colors = ["#2f9e44" if r["difference"] > 0 else "#e03131" if r["difference"] < 0
              else "#adb5bd" for r in rows]
    fig = go.Figure(go.Bar(
        x=[r["difference"] for r in rows], y=[r["class"] for r in rows], orientation="h",
        marker_color=colors, customdata=[[r["a"], r["b"], r["clips"]] for r in rows],
        hovertemplate="%{y}: %{customdata[0]:.0%} → %{customdata[1]:.0%} "
                      "(%{customdata[2]} clips)<extra></extra>"))
    fig.update_layout(height=max(260, 22 * len(rows) + 80), margin=MARGIN,
                      xaxis_title=f"top-1 of {result['b']['name']} minus {result['a']['name']}",
                      xaxis_tickformat="+.0%", yaxis={"type": "category"})
    return fig


def disagreements_frame(result: dict) -> pd.DataFrame:
    """The clips whose verdicts differ, one row each, those only one run gets right first."""
    return pd.DataFrame(result["disagreements"],
                        columns=["path", "true", "a_label", "a_confidence", "a_correct",
                                 "b_label", "b_confidence", "b_correct"])


UNFAMILIAR = "unlike the clips this model was trained on"


def shown_answers(prediction: dict, answers: list[dict]) -> list[dict]:
    """The answers Predict shows: ``answers`` (``tables.prediction_answers``), or, when
    the clip is unfamiliar, one answer that says so instead of a confident wrong class."""
    if not prediction.get("unfamiliar"):
        return answers
    return [{"aggregator": "familiarity", "title": "Unfamiliar", "label": "Unfamiliar",
             "confidence": None, "primary": False,
             "confidence_text": f"{UNFAMILIAR} (distance {prediction['unfamiliar_score']:.2f}"
                                f", familiar up to {prediction['unfamiliar_threshold']:.2f})"}]
