"""ECE, reliability bins and temperature scaling, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidcore.calibration import (
    apply_temperature,
    calibrated_scores,
    expected_calibration_error,
    fit_calibration,
    fit_temperature,
    load_calibration,
    reliability,
    save_calibration,
    temperature_of,
)
from vidcore.errors import InputError


def test_ece_by_hand():
    # 10 bins. (0.8, 0.9]: confidences .85 .85, one right -> |0.5 - 0.85| x 2/4 = 0.175;
    # (0.5, 0.6]: .55 right -> |1 - .55| x 1/4 = 0.1125; (0.2, 0.3]: .25 wrong -> 0.0625.
    conf, right = [0.85, 0.85, 0.55, 0.25], [1, 0, 1, 0]
    assert expected_calibration_error(conf, right, bins=10) == pytest.approx(0.35)


def test_reliability_bins_are_equal_width_and_right_closed():
    table = reliability([0.0, 0.5, 0.5000001, 1.0], [1, 1, 0, 1], bins=2)
    first, second = table["bins"]
    assert (first["low"], first["high"], second["low"], second["high"]) == (0, 0.5, 0.5, 1)
    assert first["clips"] == 2 and first["confidence"] == pytest.approx(0.25)
    assert first["accuracy"] == 1.0 and second["accuracy"] == 0.5
    assert table["clips"] == 4


def test_empty_bins_say_so_and_a_perfectly_calibrated_set_has_zero_ece():
    table = reliability([0.75] * 4, [1, 1, 1, 0], bins=4)
    assert [b["clips"] for b in table["bins"]] == [0, 0, 4, 0]
    assert table["bins"][0]["accuracy"] is None and table["bins"][0]["confidence"] is None
    assert table["ece"] == pytest.approx(0.0)


def test_bad_confidences_are_refused():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        reliability([1.2], [1])
    with pytest.raises(InputError, match="one confidence"):
        reliability([0.5, 0.5], [1])


def test_temperature_by_hand():
    # Four clips, each 0.8 / 0.2 (logit margin log 4), three right: the NLL is least when
    # the tempered confidence is the accuracy 3/4, i.e. sigmoid(log 4 / T) = 3/4, so
    # log 4 / T = log 3 and T = log 4 / log 3 = 1.2619.
    probs = np.array([[0.8, 0.2]] * 4)
    labels = [0, 0, 0, 1]
    t = fit_temperature(labels, probs=probs)
    assert t == pytest.approx(math.log(4) / math.log(3), rel=1e-4)
    assert apply_temperature(t, probs=probs[0]) == pytest.approx([0.75, 0.25], abs=1e-5)
    logits = np.array([[math.log(4), 0.0]] * 4)  # the same clips given as logits
    assert fit_temperature(labels, logits=logits) == pytest.approx(t, rel=1e-4)


def test_temperature_keeps_the_ranking_and_one_is_the_identity():
    probs = np.random.default_rng(0).dirichlet(np.ones(5), 20)
    hot = apply_temperature(3.0, probs=probs)
    assert (hot.argmax(1) == probs.argmax(1)).all() and (hot.max(1) < probs.max(1)).all()
    assert apply_temperature(1.0, probs=probs) == pytest.approx(probs)


def test_a_timid_model_is_sharpened_and_an_all_right_one_goes_to_the_low_bound():
    assert fit_temperature([0] * 9 + [1], probs=[[0.6, 0.4]] * 10) < 1  # 90% right at 0.6
    # every clip right: the NLL falls towards 0 as T -> 0, flat long before the bound
    assert 0.05 <= fit_temperature([0, 0], probs=[[0.9, 0.1]] * 2) < 0.1


def test_probabilities_or_logits_not_both():
    with pytest.raises(InputError, match="either"):
        fit_temperature([0], probs=[[0.5, 0.5]], logits=[[0.0, 0.0]])


def test_fit_calibration_lowers_the_nll_and_skips_the_vote(tmp_path):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 200)
    # an over-confident model: right 70% of the time, always ~97% sure
    guess = np.where(rng.random(200) < 0.7, labels, (labels + 1) % 4)
    probs = np.full((200, 4), 0.01)
    probs[np.arange(200), guess] = 0.97
    data = fit_calibration({"temporal": probs, "mode": probs}, labels)
    assert set(data["aggregators"]) == {"temporal"}
    temporal = data["aggregators"]["temporal"]
    assert temporal["temperature"] > 1 and temporal["nll_after"] < temporal["nll_before"]
    assert temporal["ece_after"] < 0.05 < 0.2 < temporal["ece_before"]
    save_calibration(tmp_path, data)
    loaded = load_calibration(tmp_path)
    assert temperature_of(loaded, "temporal") == temporal["temperature"]
    assert temperature_of(loaded, "mean") == 1.0 and temperature_of(None, "temporal") == 1.0
    shown = calibrated_scores(loaded, "temporal", probs[0])
    assert shown.max() == pytest.approx(np.mean(guess == labels), abs=0.01)  # sure as right
    assert calibrated_scores(loaded, "mode", [0.5, 0.5]).tolist() == [0.5, 0.5]


def test_a_run_without_calibration_reads_as_none(tmp_path):
    assert load_calibration(tmp_path) is None
    (tmp_path / "calibration.json").write_text("{not json")
    assert load_calibration(tmp_path) is None
