"""``vidcore report``: one self-contained HTML file, opened in Chromium with the network off.

Needs Debian's /usr/bin/chromium for the browser test (conftest's ``browser``: skipped
without it, except when CI=true, where it fails).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.handmade_runs import CLASSES, make_dataset, read_json, write_run
from vidcore.calibration import save_calibration
from vidcore.cli import main
from vidcore.errors import RunError
from vidcore.html_report import build_report

# Test clip i is class i // 6; the verdict mistakes three Jump clips for Run and one
# Wave clip for Clap; the mode vote is right everywhere.
MISTAKES = {6: 2, 7: 2, 8: 2, 20: 0}


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    manifest, test = make_dataset(tmp / "data", videos=True)
    labels = [MISTAKES.get(i, r["label"]) for i, r in enumerate(test)]
    confidences = list(np.linspace(0.3, 0.99, len(test)))
    run = write_run(tmp / "run", manifest, test,
                    {"temporal": (labels, confidences),
                     "mode": ([r["label"] for r in test], [1.0] * len(test))},
                    preset="default")
    save_calibration(run, {"format": 1, "method": "temperature", "fitted_on": "validation",
                           "clips": 8, "bins": 15,
                           "aggregators": {"temporal": {"temperature": 1.5}}})
    out = tmp / "report.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    return run, out


def _data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                      html, re.S)
    return json.loads(found.group(1))


def test_the_report_holds_the_runs_figures(evaluated_run):
    run, out = evaluated_run
    html, report = out.read_text(), read_json(run / "report.json")
    data = _data(html)
    verdict = report["aggregators"]["temporal"]
    assert data["aggregators"][0]["name"] == "temporal" and data["aggregators"][0]["primary"]
    assert data["aggregators"][0]["top1"] == verdict["top1"] == pytest.approx(20 / 24)
    low, high = data["aggregators"][0]["top1_ci"]
    assert low < verdict["top1"] < high
    assert data["confusion"]["matrix"] == verdict["confusion"]
    assert data["confused_pairs"][0]["true"] == "Jump"
    assert data["confused_pairs"][0]["predicted"] == "Run"
    assert data["confused_pairs"][0]["clips"] == 3
    assert data["calibration"][0]["temperature"] == 1.5
    assert "not measured: evaluate the run again" in html  # no calibrated column yet
    assert data["dataset"]["leaking_groups"] == 0 and "Leakage check passed" in html
    assert data["dataset"]["test"] == 24 and data["dataset"]["groups"]["test"] == 12
    assert data["vidcore_version"] and data["made_at"]
    assert "Model card: temporal_conv on efficientnet_lite0" in html


def test_calibrated_confidences_give_the_ece_after(tmp_path):
    import pandas as pd

    from vidcore.html_report.content import calibration_figures
    from vidcore.results import load_results

    manifest, test = make_dataset(tmp_path / "data")
    labels = [MISTAKES.get(i, r["label"]) for i, r in enumerate(test)]
    run = write_run(tmp_path / "run", manifest, test, {"temporal": (labels, [0.9] * 24)})
    table = pd.read_csv(run / "predictions.csv")
    # 20 of 24 right at 0.9: ECE 0.9 - 20/24; calibrated to 20/24 exactly: ECE 0
    table["temporal_calibrated_confidence"] = 20 / 24
    table.to_csv(run / "predictions.csv", index=False)
    (entry,) = calibration_figures(load_results(run))
    assert entry["ece"] == pytest.approx(0.9 - 20 / 24)
    assert entry["ece_calibrated"] == pytest.approx(0.0)


def test_leakage_is_reported(tmp_path):
    manifest, test = make_dataset(tmp_path / "data")
    text = manifest.read_text().replace("Clap_g01_c01.avi,Clap,g1,test",
                                        "Clap_g01_c01.avi,Clap,g1,train")
    manifest.write_text(text)  # recording Clap/g1 now on both sides
    test = [r for r in test if not r["path"].endswith("Clap_g01_c01.avi")]
    run = write_run(tmp_path / "run", manifest, test,
                    {"temporal": ([r["label"] for r in test], [0.9] * len(test))})
    text = " ".join(build_report(run).split())
    assert "Leakage: 1 recordings have clips on both sides of the split (Clap/g1)" in text


def test_at_101_classes_the_matrix_is_drawn_whole_and_focused(tmp_path):
    from vidcore.confusion import DEFAULT_CONFUSED
    from vidcore.html_report import figures
    from vidcore.html_report.content import report_content

    classes = [f"Action{c:03d}" for c in range(101)]
    manifest, test = make_dataset(tmp_path / "data", classes=classes)
    # clip 0 of each class's first recording taken for the next class
    labels = [(r["label"] + 1) % 101 if i % 6 == 0 else r["label"] for i, r in enumerate(test)]
    run = write_run(tmp_path / "run", manifest, test,
                    {"temporal": (labels, [0.8] * len(test))}, classes=classes)
    content = report_content(run)
    whole, focused = figures.confusion_figures(content["confusion"])
    assert len(whole[1].data[0].x) == 101
    assert 2 <= len(focused[1].data[0].x) <= DEFAULT_CONFUSED
    assert len(content["per_class"]) == 101 and len(content["confused_pairs"]) == 10
    assert content["confusion"]["matrix"] == read_json(run / "report.json")[
        "aggregators"]["temporal"]["confusion"]


def test_an_unevaluated_run_is_refused_in_one_line(tmp_path, capsys):
    manifest, test = make_dataset(tmp_path / "data")
    run = write_run(tmp_path / "run", manifest, test,
                    {"temporal": ([r["label"] for r in test], [0.9] * len(test))})
    with pytest.raises(RunError, match="evaluated on split 1, not 3"):
        build_report(run, split=3)
    (run / "report.json").unlink()
    assert main(["report", str(run), "--out", str(tmp_path / "r.html")]) == 2
    assert "has not been evaluated" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


# _fullData: the traces as plotly.js drew them (``data`` keeps plotly.py's base64 arrays)
FIGURES_JS = """() => {
  const traces = id => document.getElementById(id)._fullData.map(t => ({
    type: t.type || 'scatter', name: t.name,
    x: t.x ? Array.from(t.x) : null, y: t.y ? Array.from(t.y) : null,
    z: t.z ? Array.from(t.z, row => Array.from(row)) : null}));
  return {intervals: traces('fig-intervals'), confusion: traces('fig-confusion-0'),
          perClass: traces('fig-per-class'), reliability: traces('fig-reliability'),
          verdict: document.getElementById('verdict-top1').textContent,
          images: Array.from(document.images, im => [im.src.slice(0, 11), im.naturalWidth])};
}"""


@pytest.mark.browser
def test_it_opens_offline_without_errors_and_draws_the_runs_numbers(evaluated_run, browser):
    run, out = evaluated_run
    report = read_json(run / "report.json")["aggregators"]
    outside, errors = [], []
    page = browser.new_page()
    try:
        page.set_default_timeout(120_000)  # a 5 MB page on a loaded 2-core machine
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))

        def only_the_file(route):
            if route.request.url == out.as_uri():
                return route.continue_()
            outside.append(route.request.url)
            return route.abort()
        page.route("**/*", only_the_file)
        page.goto(out.as_uri(), wait_until="load")
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4")
        shown = page.evaluate(FIGURES_JS)
    finally:
        page.close()
    assert outside == [] and errors == []
    assert shown["verdict"] == f"{report['temporal']['top1']:.1%}"
    top1 = next(t for t in shown["intervals"] if t["name"] == "top-1")
    assert top1["y"] == pytest.approx([report["temporal"]["top1"], report["mode"]["top1"]])
    right, wrong = (np.nan_to_num(np.array(t["z"], float)) for t in shown["confusion"][:2])
    assert (right + wrong).astype(int).tolist() == report["temporal"]["confusion"]
    bars = dict(zip(shown["perClass"][0]["y"], shown["perClass"][0]["x"], strict=True))
    assert bars == pytest.approx(report["temporal"]["per_class"])
    assert set(bars) == set(CLASSES)
    # 4 frames of 2 example Jump clips (72 px wide videos) and 1 Wave clip (88 px)
    assert shown["images"] == [["data:image/", 72]] * 8 + [["data:image/", 88]] * 4
