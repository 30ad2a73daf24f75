"""Bootstrap intervals by recording and the exact McNemar test, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from vidcore.errors import InputError
from vidcore.evaluate import score
from vidcore.uncertainty import (
    accuracy_intervals,
    agreement_counts,
    group_counts,
    interval,
    mcnemar,
    mean_class_accuracy_of,
)


def test_group_counts_tally_right_and_total_per_group_and_class():
    counts = group_counts(["b", "a", "a", "b", "a"], [1, 0, 0, 1, 2], [1, 1, 0, 0, 1], 3)
    assert counts.groups == ("a", "b")
    assert counts.total.tolist() == [[2, 0, 1], [0, 2, 0]]
    assert counts.right.tolist() == [[1, 0, 1], [0, 1, 0]]


def test_group_counts_refuse_mismatched_lengths():
    with pytest.raises(InputError, match="as many groups"):
        group_counts(["a", "b"], [0], [1], 2)


def test_two_recordings_one_right_one_wrong_give_the_whole_range():
    # 10 clips of recording a all right, 10 of recording b all wrong. Resampling two
    # groups gives aa, ab, ba, bb with 1/4 each: top-1 0 and 1 each have 25% mass, so
    # the 2.5% and 97.5% percentiles are 0 and 1. A clip bootstrap would claim ~0.5+-0.22.
    groups, true, correct = ["a"] * 10 + ["b"] * 10, [0] * 20, [1] * 10 + [0] * 10
    ci = accuracy_intervals(groups, true, correct, 1)
    assert ci == {"top1_ci": [0.0, 1.0], "mean_class_accuracy_ci": [0.0, 1.0]}
    by_clip = accuracy_intervals([str(i) for i in range(20)], true, correct, 1)["top1_ci"]
    assert 0.2 < by_clip[0] < 0.5 < by_clip[1] < 0.8


def test_four_one_clip_recordings_match_the_binomial_by_hand():
    # One wrong recording among four: the wrong one is drawn k ~ Binomial(4, 1/4) times.
    # P(k=4) = 1/256 (0.4%), P(k>=3) = 13/256 (5.1%): the 2.5% point is k=3, top-1 1/4.
    # P(k=0) = 81/256 (32%): the 97.5% point is top-1 1.
    ci = interval(group_counts(["w", "r1", "r2", "r3"], [0] * 4, [0, 1, 1, 1], 1), "top1")
    assert ci == [0.25, 1.0]


def test_a_class_missing_from_a_resample_is_left_out_of_its_mean():
    # class 0 only in recording a (both right), class 1 only in b (both wrong):
    # aa -> mean over class 0 alone = 1, bb -> 0, ab/ba -> (1 + 0) / 2; never NaN.
    counts = group_counts(["a", "a", "b", "b"], [0, 0, 1, 1], [1, 1, 0, 0], 2)
    assert interval(counts, "mean_class_accuracy") == [0.0, 1.0]
    assert mean_class_accuracy_of(np.array([2.0, 0.0]), np.array([2.0, 0.0])) == 1.0


def test_the_class_mean_of_all_clips_is_evaluates_figure():
    rankings = np.array([[0, 1, 2], [1, 0, 2], [2, 1, 0], [0, 2, 1], [1, 0, 2]])
    true = np.array([0, 0, 1, 0, 1])
    metrics = score("mode", true, rankings, ["a", "b", "c"])
    counts = group_counts(["g1", "g2", "g3", "g4", "g5"], true, rankings[:, 0] == true, 3)
    whole = counts.right.sum(0), counts.total.sum(0)
    assert mean_class_accuracy_of(*whole) == pytest.approx(metrics.mean_class_accuracy)


def test_intervals_are_seeded_and_hold_the_point_figure():
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 30, 200).astype(str)
    true, correct = rng.integers(0, 5, 200), rng.random(200) < 0.7
    first = accuracy_intervals(groups, true, correct, 5, seed=1)
    assert first == accuracy_intervals(groups, true, correct, 5, seed=1)
    assert first != accuracy_intervals(groups, true, correct, 5, seed=2)
    low, high = first["top1_ci"]
    assert low < np.mean(correct) < high


def test_one_recording_has_nothing_to_resample():
    assert interval(group_counts(["a"] * 4, [0] * 4, [1, 1, 1, 0], 1)) == [0.75, 0.75]


def test_agreement_counts():
    counts = agreement_counts([1, 1, 0, 0, 1], [1, 0, 1, 0, 0])
    assert counts == {"both_right": 1, "only_a": 2, "only_b": 1, "both_wrong": 1}
    with pytest.raises(InputError, match="same test clips"):
        agreement_counts([1, 0], [1])


@pytest.mark.parametrize(("only_a", "only_b", "p"), [
    (8, 0, 2 / 2**8),  # the 8 clips all one way: 2 x (1/2)^8 = 0.0078
    (5, 1, 2 * 7 / 64),  # P(X <= 1 | n=6) = (1 + 6) / 64, doubled
    (1, 1, 1.0),
    (0, 0, 1.0),  # no discordant clip: no evidence either way
])
def test_exact_mcnemar_by_hand(only_a, only_b, p):
    assert mcnemar(only_a, only_b) == pytest.approx(p)
    assert mcnemar(only_b, only_a) == pytest.approx(p)
