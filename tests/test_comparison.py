"""``vidcore compare``: two hand-made evaluated runs with known disagreements."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.handmade_runs import CLASSES, make_dataset, write_run
from vidcore.cli import main
from vidcore.comparison import compare_runs
from vidcore.errors import RunError
from vidcore.results import load_results
from vidcore.uncertainty import accuracy_intervals

# Test clip i is class i // 6 (Clap, Jump, Run, Wave), recording (i % 6) // 2 + 1.
ONLY_A = {12: 3, 13: 3, 14: 3, 15: 3, 18: 0}  # B wrong (its label), A right
ONLY_B = {0: 1}  # A wrong, B right
BOTH_WRONG = {6: (2, 2), 7: (0, 3)}  # clip: (A's label, B's label): 6 agree, 7 differ


def _labels(test, wrong: dict) -> tuple[list[int], list[float]]:
    labels = [wrong.get(i, r["label"]) for i, r in enumerate(test)]
    return labels, [0.9] * len(labels)


@pytest.fixture()
def two_runs(tmp_path):
    manifest, test = make_dataset(tmp_path / "data")
    a_wrong = {**ONLY_B, **{i: a for i, (a, _) in BOTH_WRONG.items()}}
    b_wrong = {**ONLY_A, **{i: b for i, (_, b) in BOTH_WRONG.items()}}
    truth = _labels(test, {})
    a = write_run(tmp_path / "a", manifest, test, {"temporal": _labels(test, a_wrong),
                                                   "mode": truth})
    # B lists its clips in another order and carries the group column evaluation will add
    order = list(reversed(range(len(test))))
    b_answers = _labels(test, b_wrong)
    b = write_run(tmp_path / "b", manifest, [test[i] for i in order],
                  {"linear": tuple([x[i] for i in order] for x in b_answers), "mode": truth},
                  head="linear", group_column=True)
    return a, b, manifest, test


def test_counts_p_value_and_verdicts_by_hand(two_runs):
    a, b, _, _ = two_runs
    result = compare_runs(a, b)
    assert (result["both_right"], result["only_a"], result["only_b"],
            result["both_wrong"]) == (16, 5, 1, 2)
    assert result["p_value"] == pytest.approx(2 * 7 / 64)  # binomial(6, 1/2): P(X <= 1) x 2
    assert result["a"]["aggregator"] == "temporal" and result["b"]["aggregator"] == "linear"
    assert result["a"]["top1"] == pytest.approx(21 / 24)
    assert result["b"]["top1"] == pytest.approx(17 / 24)
    low, high = result["a"]["top1_ci"]
    assert low < 21 / 24 <= high and result["clips"] == 24 and result["split"] == 1


def test_per_class_differences_read_b_minus_a(two_runs):
    rows = {r["class"]: r for r in compare_runs(*two_runs[:2])["per_class"]}
    assert list(rows) == CLASSES
    expected = {"Clap": 1 / 6, "Jump": 0.0, "Run": -4 / 6, "Wave": -1 / 6}
    for name, diff in expected.items():
        assert rows[name]["difference"] == pytest.approx(diff) and rows[name]["clips"] == 6


def test_disagreements_are_the_clips_whose_verdicts_differ(two_runs):
    a, b, _, test = two_runs
    rows = compare_runs(a, b)["disagreements"]
    expected = sorted(set(ONLY_A) | set(ONLY_B) | {7})  # clip 6: both say Run, no disagreement
    assert sorted(r["path"] for r in rows) == sorted(test[i]["path"] for i in expected)
    assert [r["a_correct"] != r["b_correct"] for r in rows] == [True] * 6 + [False]
    both_wrong = rows[-1]
    assert (both_wrong["true"], both_wrong["a_label"], both_wrong["b_label"]) == (
        "Jump", "Clap", "Wave")


def test_intervals_resample_the_recordings_of_the_dataset_or_the_csv(two_runs):
    a, b, _, test = two_runs
    # A has no group column: its groups come from the dataset index; B's from its CSV
    assert load_results(a).groups == [r["group"] for r in test]
    assert load_results(b).groups == [r["group"] for r in reversed(test)]
    result = compare_runs(a, b)
    a_correct = np.array(_labels(test, {0: 1, 6: 2, 7: 0})[0]) == [r["label"] for r in test]
    by_hand = accuracy_intervals([r["group"] for r in test], [r["label"] for r in test],
                                 a_correct, len(CLASSES))
    assert result["a"]["top1_ci"] == by_hand["top1_ci"]
    assert result["a"]["mean_class_accuracy_ci"] == by_hand["mean_class_accuracy_ci"]


def test_different_test_sets_are_refused_in_one_line(two_runs, tmp_path, capsys):
    a, _, manifest, test = two_runs
    c = write_run(tmp_path / "c", manifest, test[:-1], {"temporal": _labels(test[:-1], {})})
    with pytest.raises(RunError, match=r"different clips \(24 and 23, 23 in common\)"):
        compare_runs(a, c)
    assert main(["compare", str(a), str(c)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different clips" in err


def test_another_split_than_the_evaluated_one_is_refused(two_runs):
    with pytest.raises(RunError, match="evaluated on split 1, not 2"):
        compare_runs(*two_runs[:2], split=2)


def test_an_unevaluated_run_is_refused(two_runs):
    a, b, _, _ = two_runs
    (a / "report.json").unlink()
    with pytest.raises(RunError, match="has not been evaluated"):
        compare_runs(a, b)


def test_cli_text_and_json(two_runs, capsys):
    a, b, _, _ = two_runs
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "exact McNemar p = 0.2188 (could be luck of the test clips)" in out
    assert "both right 16, only A right 5, only B right 1, both wrong 2" in out
    assert "7 clips where the verdicts differ" in out
    assert main(["compare", str(a), str(b), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["only_a"] == 5 and len(data["disagreements"]) == 7
