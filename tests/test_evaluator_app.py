"""Evaluate's judge's panels under AppTest: intervals, calibration, another run, the report,
the test clips on the map. Hand-made evaluated runs (tests/handmade_runs.py) with known
answers, so the page's numbers can be checked against the library's."""

from __future__ import annotations

import json

import pytest

from tests.apptest import messages, open_page, start_app, texts
from tests.handmade_runs import make_dataset, write_run
from tests.map_results import write_finished_job
from vidcore import runs
from vidcore.calibration import save_calibration
from vidcore.comparison import compare_runs
from vidcore.data.index import load_index
from vidcore.features import FeatureSpec
from vidcore.html_report.content import aggregator_figures
from vidcore.results import load_results
from webapp import state

A_WRONG = {0: 1, 6: 2, 7: 0}  # test clip -> A's wrong label
B_WRONG = {12: 3, 13: 3, 14: 3, 15: 3, 6: 2}  # and B's: 4 only A gets right, 2 only B


def _answers(test, wrong: dict) -> tuple[list[int], list[float]]:
    return [wrong.get(i, r["label"]) for i, r in enumerate(test)], [0.9] * len(test)


def _with_model(run_dir):
    (run_dir / runs.LINEAR_MODEL).write_bytes(b"listed as a model; never loaded here")
    return run_dir


@pytest.fixture
def judged(tiny_demo, tmp_path, monkeypatch):
    """Runs A (temperatures fitted), B (none) and C (other test clips); the app on A."""
    manifest, test = make_dataset(tmp_path / "data", videos=True)
    root = tmp_path / "runs"
    truth = _answers(test, {})
    a = _with_model(write_run(root / "a", manifest, test, {
        "temporal": _answers(test, A_WRONG), "mean": _answers(test, A_WRONG), "mode": truth}))
    save_calibration(a, {"format": 1, "method": "temperature", "fitted_on": "validation",
                         "clips": 8, "bins": 15, "aggregators": {
                             "temporal": {"temperature": 1.5}, "mean": {"temperature": 0.8}}})
    b = _with_model(write_run(root / "b", manifest, test, {"linear": _answers(test, B_WRONG),
                                                           "mode": truth}, head="linear"))
    c = _with_model(write_run(root / "c", manifest, test[:-2],
                              {"linear": _answers(test[:-2], {}), "mode": _answers(test[:-2], {})},
                              head="linear"))
    runs.set_active_model(a, root=root)
    env = {"VIDCORE_DEMO_DIR": tiny_demo, "VIDCORE_RUNS": root,
           "VIDCORE_STORE": tmp_path / "features", "VIDCORE_HOME": tmp_path / "ws"}
    at = start_app(monkeypatch, env)
    at.session_state[state.RUN_CHOICE] = str(a)
    return open_page(at, "evaluate"), a, b, c, tmp_path / "features"


def _tables(at) -> str:
    return " ".join(d.value.to_csv() for d in at.dataframe)


def test_intervals_and_calibration_before_and_after(judged):
    at, a, *_ = judged
    tables = _tables(at)
    # 24 test clips, 21 right: 87.5% on the card, its interval by recording under it
    primary = next(r for r in aggregator_figures(load_results(a)) if r["primary"])
    low, high = primary["top1_ci"]
    assert primary["top1"] == 0.875 and low < 0.875 < high
    assert "87.5%" in [m.value for m in at.metric]
    assert f"95% interval {low:.1%}–{high:.1%}" in texts(at.caption)
    assert "resamples recordings, not clips" in texts(at.caption)
    assert "no temperature: a vote share is not a probability" in tables
    assert "1.500" in tables and "0.800" in tables  # the fitted temperatures
    assert "evaluate again to measure it" in tables  # no calibrated column yet
    assert "Temperatures were fitted on the validation clips" in texts(at.caption)


def test_a_run_without_temperatures_says_so(judged):
    at, _, b, *_ = judged
    at.selectbox(key=state.RUN_CHOICE).set_value(str(b)).run()
    assert not at.exception, at.exception
    assert "no calibration.json: no temperature was fitted" in texts(at.caption)
    assert "no temperature fitted" in _tables(at)


def test_compare_states_mcnemar_and_refuses_other_test_clips(judged):
    at, a, b, c, _ = judged
    expected = compare_runs(a, b)
    assert (expected["only_a"], expected["only_b"]) == (4, 2)
    at.selectbox(key="compare-run").set_value(str(b)).run()
    assert not at.exception, at.exception
    said = texts(at.markdown)
    assert f"Exact McNemar test: p = {expected['p_value']:.3g}" in said
    assert "4 only with **a**" in said and "2 are right only with **b**" in said
    assert "could well be luck" in said  # p = 0.6875
    figure = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                  if "class-differences" in c.proto.id)
    assert "top-1 of b minus a" in json.dumps(figure["layout"]["xaxis"])
    assert {d["class"]: d["difference"] for d in expected["per_class"]} == dict(
        zip(figure["data"][0]["y"], figure["data"][0]["x"], strict=True))
    assert len(at.dataframe[-1].value) == len(expected["disagreements"])
    at.selectbox(key="disagreement").set_value(0).run()  # only one run right: listed first
    first = expected["disagreements"][0]
    assert first["a_correct"] != first["b_correct"]
    assert f"True: **{first['true']}** · a says {first['a_label']}" in texts(at.caption)
    at.selectbox(key="compare-run").set_value(str(c)).run()
    assert "were tested on different clips" in messages(at)


def test_the_report_is_offered_for_download(judged):
    at, a, *_ = judged
    next(b for b in at.button if b.label == "Prepare the report").click().run()
    assert not at.exception, at.exception
    assert not at.error, at.error
    assert [d.proto.label for d in at.get("download_button")
            if "report-download" in d.proto.id] == ["Download the report (HTML)"]
    html = at.session_state["evaluator-report"][1].decode()
    assert html.lstrip().lower().startswith("<!doctype html") and "87.5%" in html


def test_the_test_clips_on_the_map_are_marked_right_or_wrong(judged):
    at, a, _, _, store = judged
    config = runs.read_json(a / runs.CONFIG)
    index = load_index(config["dataset"])
    assert "no map in this model's features yet" in texts(at.caption)
    write_finished_job(index, FeatureSpec.from_dict(config), store)
    at.run()
    assert not at.exception, at.exception
    figure = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                  if "verdict-map" in c.proto.id)
    traces = {t["name"]: len(t["customdata"]) for t in figure["data"]}
    assert traces == {"not a test clip": 8, "right": 24 - len(A_WRONG), "wrong": len(A_WRONG)}
