"""Predictions read the run's trust files: an unfamiliar clip is flagged, confidences are
temperature-scaled where a temperature was fitted, and runs without them are unchanged.
Synthetic features (tests/synthetic.py): a class the run never saw lies far from all."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import synthetic

from vidcore.calibration import CALIBRATION, apply_temperature, save_calibration
from vidcore.cli import main
from vidcore.familiarity import FAMILIARITY
from vidcore.predict import predict
from vidcore.trust import fit_trust

SEEN = "Clap/v_Clap_g09_c01.avi"  # a test clip of a class familiarity was fitted on
UNSEEN = "Jog/v_Jog_g01_c01.avi"  # no such class in training: its own point in feature space
STATIC = ("Clap", "Wave")  # classes whose clips sit near one point each (tests/synthetic.py)


@pytest.fixture
def trusted(synthetic_runs, fake_features, tmp_path):
    """A copy of the synthetic temporal run with calibration.json and familiarity.npz
    fitted on training and validation recordings (groups 1-5 and 6-7) of its static
    classes (an Up or Down clip's mean feature is mostly noise: no place of its own)."""
    run, plain = tmp_path / "run", tmp_path / "plain"
    shutil.copytree(synthetic_runs.runs["temporal_conv"], run)
    shutil.copytree(synthetic_runs.runs["temporal_conv"], plain)
    for name in (CALIBRATION, FAMILIARITY):  # what training wrote: "plain" is a run without
        (plain / name).unlink(missing_ok=True)
    train = [synthetic.clip_features(c, g, k) for c in STATIC for g in range(1, 6)
             for k in (1, 2)]
    val = [(synthetic.clip_features(c, g, k), synthetic.CLASSES.index(c)) for c in STATIC
           for g in (6, 7) for k in (1, 2)]
    fit_trust(run, train, [x for x, _ in val], np.array([y for _, y in val]))
    unseen = synthetic_runs.data / UNSEEN
    unseen.parent.mkdir(exist_ok=True)
    unseen.write_bytes(b"placeholder")
    return run, synthetic_runs, plain


def test_an_unseen_kind_of_clip_is_unfamiliar_and_a_test_clip_is_not(trusted):
    run, synth, plain_run = trusted
    seen = predict(run, synth.data / SEEN).to_dict()
    unseen = predict(run, synth.data / UNSEEN).to_dict()
    assert seen["unfamiliar"] is False and unseen["unfamiliar"] is True
    assert seen["unfamiliar_score"] <= seen["unfamiliar_threshold"] < unseen["unfamiliar_score"]
    assert seen["unfamiliar_threshold"] == unseen["unfamiliar_threshold"]


def test_confidences_are_temperature_scaled_where_fitted(trusted):
    run, synth, plain_run = trusted
    plain = predict(plain_run, synth.data / SEEN).to_dict()
    save_calibration(run, {"format": 1, "method": "temperature", "aggregators": {
        "temporal": {"temperature": 3.0}}})
    scaled = predict(run, synth.data / SEEN).to_dict()
    raw = np.array([s for _, s in sorted(plain["aggregators"]["temporal"]["top"],
                                         key=lambda t: plain["classes"].index(t[0]))])
    want = apply_temperature(3.0, probs=raw)
    assert scaled["temporal_label"] == plain["temporal_label"]
    assert scaled["temporal_confidence"] == pytest.approx(want.max(), abs=1e-5)
    assert scaled["temporal_confidence"] < plain["temporal_confidence"]
    assert scaled["vote_share"] == plain["vote_share"]  # a vote share has no temperature


def test_a_run_without_trust_files_is_unchanged_and_the_cli_says_it(trusted, capsys):
    run, synth, plain_run = trusted
    plain = predict(plain_run, synth.data / UNSEEN).to_dict()
    assert plain["unfamiliar"] is None and plain["unfamiliar_score"] is None
    assert main(["predict", str(synth.data / UNSEEN), "--model", str(run), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["unfamiliar"] is True and data["unfamiliar_score"] > data["unfamiliar_threshold"]
    assert main(["predict", str(synth.data / UNSEEN), "--model", str(run)]) == 0
    assert capsys.readouterr().out.startswith("unfamiliar: unlike the clips this model")


def test_predict_shows_unfamiliar_instead_of_the_answers(trusted):
    from vidcore.views.evaluation_view import UNFAMILIAR, shown_answers
    from vidcore.views.tables import prediction_answers

    run, synth, plain_run = trusted
    for video, flagged in ((SEEN, False), (UNSEEN, True)):
        data = predict(run, synth.data / video).to_dict()
        answers = prediction_answers(data)
        shown = shown_answers(data, answers)
        if flagged:
            assert [a["label"] for a in shown] == ["Unfamiliar"]
            assert shown[0]["confidence_text"].startswith(UNFAMILIAR)
        else:
            assert shown is answers and len(answers) == 3
