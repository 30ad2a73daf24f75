"""Aggregators, metrics, and the evaluation report of a run (JSON and CSV contracts)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from vidcore import runs
from vidcore.cli import main
from vidcore.errors import InputError
from vidcore.evaluate import aggregate, clip_vote, evaluate, mean_vote, mode_vote, score
from vidcore.models.loading import ModelOutput


def test_mode_is_a_majority_vote():
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]])
    vote = mode_vote(probs)
    assert vote.label == 0 and vote.confidence == pytest.approx(2 / 3)
    assert vote.ranking.tolist() == [0, 1, 2]


def test_mode_tie_goes_to_the_higher_mean_probability():
    # classes 1 and 2 get two votes each; class 2 is more confident on average
    probs = np.array([[0.1, 0.5, 0.4], [0.1, 0.5, 0.4], [0.0, 0.1, 0.9], [0.0, 0.1, 0.9]])
    vote = mode_vote(probs)
    assert vote.label == 2 and vote.confidence == 0.5
    assert vote.ranking.tolist() == [2, 1, 0]


def test_mode_full_tie_goes_to_the_lowest_label():
    probs = np.array([[0.0, 0.0, 0.6, 0.4], [0.0, 0.0, 0.4, 0.6]])
    assert mode_vote(probs).label == 2
    assert mode_vote(probs[:, ::-1].copy()).label == 0


def test_mean_and_clip_votes():
    probs = np.array([[0.6, 0.4], [0.6, 0.4], [0.0, 1.0]])
    assert mode_vote(probs).label == 0 and mean_vote(probs).label == 1
    assert mean_vote(probs).confidence == pytest.approx(0.6)
    assert clip_vote(np.array([0.2, 0.2, 0.6])).ranking.tolist() == [2, 0, 1]


def test_aggregate_by_name():
    out = ModelOutput(np.array([[0.9, 0.1]]), None, np.zeros(1), np.zeros(1))
    assert aggregate(out, "mean").label == 0
    with pytest.raises(InputError, match="no clip-level output"):
        aggregate(out, "temporal")
    with pytest.raises(InputError, match="mode, mean, temporal, linear"):
        aggregate(out, "median")


def test_score_top_k_per_class_and_confusion():
    rankings = np.array([[0, 1, 2], [1, 0, 2], [2, 1, 0], [0, 2, 1]])
    true = np.array([0, 0, 1, 0])
    m = score("mode", true, rankings, ["a", "b", "c"])
    assert m.top1 == pytest.approx(0.5)
    assert m.per_class == {"a": pytest.approx(2 / 3), "b": 0.0, "c": None}
    assert m.mean_class_accuracy == pytest.approx(1 / 3)
    assert m.confusion == [[2, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert m.top5 == 1.0  # three classes: always within the best five
    six = score("mean", np.array([5, 4]), np.array([[0, 1, 2, 3, 4, 5]] * 2), list("abcdef"))
    assert six.top1 == 0.0 and six.top5 == 0.5


def test_temporal_head_separates_the_reversed_pair_frame_vote_cannot(synthetic_runs,
                                                                     fake_features):
    temporal = evaluate(synthetic_runs.runs["temporal_conv"]).aggregators
    frame = evaluate(synthetic_runs.runs["frame_mlp"]).aggregators
    pair = ("Up", "Down")
    assert min(temporal["temporal"].per_class[c] for c in pair) >= 0.9
    # Each Down clip holds exactly its Up twin's frames: a per-frame model gives both
    # the same answer, so exactly one of the two is right.
    for name in ("mode", "mean"):
        assert np.mean([frame[name].per_class[c] for c in pair]) == pytest.approx(0.5)
    assert frame["mode"].per_class["Clap"] == frame["mode"].per_class["Wave"] == 1.0


def test_report_json_and_predictions_csv(synthetic_runs, fake_features):
    run = synthetic_runs.runs["temporal_conv"]
    report = evaluate(run)
    data = report.to_dict()
    assert data == json.loads((run / runs.REPORT).read_text())
    assert data["num_videos"] == 24 and data["primary"] == "temporal"
    assert list(data["aggregators"]) == ["temporal", "mode", "mean"]
    for metrics in data["aggregators"].values():
        assert {"top1", "top5", "mean_class_accuracy", "per_class", "confusion"} <= set(metrics)
        assert sum(map(sum, metrics["confusion"])) == 24
    with open(run / runs.PREDICTIONS, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 24
    assert {"path", "true", "temporal_label", "temporal_confidence", "mode_label",
            "mean_correct"} <= set(rows[0])
    correct = np.mean([int(r["temporal_correct"]) for r in rows])
    assert correct == pytest.approx(report.aggregators["temporal"].top1)


def test_linear_head_reports_its_own_aggregator(synthetic_runs, fake_features):
    report = evaluate(synthetic_runs.runs["linear"])
    assert report.primary == "linear" and report.top1 > 0.5


def test_cli_evaluate_json(synthetic_runs, fake_features, capsys):
    assert main(["evaluate", str(synthetic_runs.runs["frame_mlp"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["num_videos"] == 24
    for name in ("mode", "mean"):
        assert {"top1", "top5", "mean_class_accuracy"} <= set(data["aggregators"][name])


def test_cli_evaluate_missing_run_exits_2(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "vidcore train" in err
