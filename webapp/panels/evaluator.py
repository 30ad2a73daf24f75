"""Evaluate's judge's toolkit: intervals, calibration, the test clips on the dataset
map, one run against another, and the HTML report to send.

Every number comes from the library (``vidcore.results``, ``html_report.content``,
``vidcore.comparison``), read from the run's stored evaluation and cached per file
version, so the page says what ``vidcore compare`` and ``vidcore report`` say.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from vidcore import runs
from vidcore.features import FeatureSpec
from vidcore.html_report import figures
from vidcore.views import evaluation_view, map_jobs, map_view
from webapp import caches, media
from webapp.boundary import guard
from webapp.panels import dataset_map

REPORT_BYTES = "evaluator-report"  # session key: (run, version) -> the built HTML


def _version(run_dir: str) -> tuple[int, int, int]:
    return tuple(caches.mtime_ns(Path(run_dir) / name) for name in
                 (runs.REPORT, runs.PREDICTIONS, "calibration.json"))


@st.cache_data(max_entries=8, show_spinner="Bootstrapping the intervals by recording…")
def _figures(run_dir: str, version: tuple) -> dict:
    from vidcore.html_report.content import aggregator_figures, calibration_figures
    from vidcore.results import load_results

    results = load_results(run_dir)
    primary = results.answers[results.primary]
    return {"aggregators": aggregator_figures(results),
            "calibration": calibration_figures(results), "paths": results.paths,
            "correct": primary.correct.tolist(), "primary": results.primary}


def figures_or_none(run_dir: str) -> dict | None:
    """The run's intervals and calibration (None, with the reason shown, when unknown)."""
    with guard("Reading the stored evaluation", stop=False):
        return _figures(run_dir, _version(run_dir))
    return None


def intervals(run_dir: str) -> dict[str, dict[str, str]]:
    """Per aggregator, the captions of its figures' 95% intervals ({} when unknown)."""
    data = figures_or_none(run_dir)
    return {} if data is None else evaluation_view.card_intervals(data["aggregators"])


def panels(run_dir: str) -> None:
    """Everything after the per-class chart: calibration, map, comparison, report."""
    data = figures_or_none(run_dir)
    if data is None:
        return
    calibration(data)
    test_map(run_dir, data)
    compare(run_dir)
    report_download(run_dir)


def calibration(data: dict) -> None:
    """The reliability diagram and ECE before and after temperature scaling."""
    st.subheader("Calibration: does 90% sure mean right nine times in ten?")
    st.caption(evaluation_view.calibration_note(data["calibration"]))
    st.dataframe(evaluation_view.calibration_frame(data["calibration"]), hide_index=True)
    st.plotly_chart(figures.reliability_figure(data["calibration"]), key="reliability")


def test_map(run_dir: str, data: dict) -> None:
    """The dataset's map in the run's features, its test clips marked right or wrong."""
    st.subheader("The test clips on the dataset map")
    config = runs.read_json(Path(run_dir) / runs.CONFIG, {}) or {}
    report = caches.cached_report(run_dir, caches.mtime_ns(Path(run_dir) / runs.REPORT))
    with guard("Finding the dataset's map", stop=False):
        index = caches.run_index(config, report["split"])
        spec = FeatureSpec.from_dict(config)
        state = map_jobs.job_state(map_jobs.job_folder(index, spec))
        if state["state"] != "done":
            _offer_map(index, spec, state)
            return
        result = state["result"]
        table = dataset_map.cached_table(result)
        verdicts = {"path": data["paths"], "correct": data["correct"]}
        st.caption("Every clip of the dataset in this model's features; the test clips are "
                   "marked by the head's answer. Mistakes that cluster show a region the "
                   "model confuses. Click a point to play the clip.")
        event = st.plotly_chart(map_view.verdict_figure(table, pd.DataFrame(verdicts)),
                                key="verdict-map", on_select="rerun", selection_mode="points",
                                config=map_view.PLOT_CONFIG)
        picked = map_view.picked_path(getattr(event, "selection", None))
        if picked:
            media.play_run_clip(run_dir, report["split"], picked)


def _offer_map(index, spec: FeatureSpec, state: dict) -> None:
    if state["state"] == "running":
        st.info("The map of this dataset is being made in the background; it shows here "
                "when done.", icon=":material/hourglass_top:")
        return
    if state["state"] == "failed":
        st.error(f"**Mapping failed.** {state['error']}", icon=":material/error:")
    st.caption("The dataset has no map in this model's features yet (they are cached, so "
               "it takes little more than laying out the points).")
    if st.button("Map the dataset", icon=":material/scatter_plot:", key="verdict-map-start"):
        with guard("Starting the mapping", stop=False):
            map_jobs.start_map_job(index, spec)
        st.rerun()


def _other_runs(run_dir: str) -> dict[str, str]:
    """Evaluated runs other than ``run_dir``: path -> label."""
    choices = {}
    for r in runs.list_runs():
        if r["has_report"] and not runs.same_run(r["path"], run_dir):
            top1 = f" · top-1 {r['top1']:.1%}" if r.get("top1") is not None else ""
            choices[str(r["path"])] = f"{r['name']} · {r['head']}{top1}"
    demo = runs.DEMO_MODEL_DIR
    if (Path(demo) / runs.REPORT).is_file() and not runs.same_run(demo, run_dir):
        choices[str(demo)] = "demo model (shipped)"
    return choices


@st.cache_data(max_entries=8, show_spinner="Comparing the two runs clip by clip…")
def _compare(run_a: str, run_b: str, versions: tuple) -> dict:
    from vidcore.comparison import compare_runs

    return compare_runs(run_a, run_b)


def compare(run_dir: str) -> None:
    """Choose a second run; see whether the difference is real, per class and per clip."""
    st.subheader("Against another run")
    choices = _other_runs(run_dir)
    if not choices:
        st.caption("No other evaluated run to compare with: train and evaluate another "
                   "model on this dataset.")
        return
    other = st.selectbox("Compare with", list(choices), format_func=choices.get, index=None,
                         key="compare-run", placeholder="Choose a second run")
    if other is None:
        return
    with guard("Comparing the runs", stop=False):
        result = _compare(run_dir, other, (_version(run_dir), _version(other)))
        _show_comparison(run_dir, result)


def _show_comparison(run_dir: str, result: dict) -> None:
    st.markdown(evaluation_view.comparison_summary(result))
    st.dataframe(evaluation_view.verdicts_frame(result), hide_index=True)
    st.plotly_chart(evaluation_view.class_differences_figure(result), key="class-differences")
    clips = evaluation_view.disagreements_frame(result)
    if clips.empty:
        return
    st.markdown(f"**The {len(clips)} clips where the verdicts differ** (a: "
                f"{result['a']['name']}, b: {result['b']['name']}), those only one run "
                "gets right first.")
    st.dataframe(clips, hide_index=True, height=min(300, 35 * (len(clips) + 1) + 3))
    row = st.selectbox("Play one", range(len(clips)), index=None, key="disagreement",
                       placeholder="Choose a clip", format_func=lambda i: clips["path"][i])
    if row is not None:
        clip = clips.iloc[row]
        st.caption(f"True: **{clip['true']}** · a says {clip['a_label']} "
                   f"({clip['a_confidence']:.0%}) · b says {clip['b_label']} "
                   f"({clip['b_confidence']:.0%})")
        media.play_run_clip(run_dir, result["split"], clip["path"])


def report_download(run_dir: str) -> None:
    """Build the self-contained HTML report on request; offer it as a download."""
    st.subheader("A report to send")
    key = (run_dir, _version(run_dir))
    built = st.session_state.get(REPORT_BYTES)
    if built is None or built[0] != key:
        st.caption("One HTML file that opens offline in any browser: the dataset and split, "
                   "figures with intervals, calibration, confusions with example frames, "
                   "the model card.")
        if st.button("Prepare the report", icon=":material/description:", key="report-build"):
            from vidcore.html_report import build_report

            with st.spinner("Writing the report…"), guard("Writing the report", stop=False):
                st.session_state[REPORT_BYTES] = (key, build_report(run_dir).encode())
                st.rerun()
        return
    st.download_button("Download the report (HTML)", lambda: built[1],  # on click
                       file_name=f"{Path(run_dir).name}-report.html", mime="text/html",
                       icon=":material/download:", on_click="ignore", key="report-download")
