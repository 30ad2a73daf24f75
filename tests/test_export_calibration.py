"""A TFLite or SavedModel export gives the calibrated confidence predict shows (issue 23):
both are built from ``export.frames_model``, which applies the run's temperature."""

import shutil

import cv2
import numpy as np
import pytest

from vidcore import export
from vidcore.calibration import apply_temperature, save_calibration
from vidcore.data import demo
from vidcore.data.video import resize_frame
from vidcore.models.loading import load_model
from vidcore.predict import predict_with_frames
from vidcore.runs import DEMO_MODEL_DIR

TEMPERATURE = 2.5


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "Kick.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 240))
    for image in demo.render_clip("Kick", 9, 1, size="tiny"):
        writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def calibrated_run(tmp_path_factory):
    """The demo model with a fitted-looking temperature for the aggregator it exports."""
    run = tmp_path_factory.mktemp("runs") / "calibrated"
    shutil.copytree(DEMO_MODEL_DIR, run)
    aggregator = load_model(run).runtime.clip_aggregator
    save_calibration(run, {"format": 1, "method": "temperature", "fitted_on": "validation",
                           "clips": 10, "aggregators": {aggregator: {"temperature": TEMPERATURE}}})
    return run


def test_the_exported_model_outputs_the_calibrated_probabilities(calibrated_run, clip):
    model = load_model(calibrated_run)
    prediction, frames, feats = predict_with_frames(model, clip)
    small = np.stack([resize_frame(im, (224, 224)) for im in frames.images])
    raw = model.predict_features(feats).clip_probs

    got = np.asarray(export.frames_model(calibrated_run)(small))
    # vidcore's fast path computes in bfloat16 where it can, the export in float32
    np.testing.assert_allclose(got, apply_temperature(TEMPERATURE, probs=raw), atol=0.03)
    shown = prediction.aggregators[model.runtime.clip_aggregator]
    assert model.classes[int(np.argmax(got))] == shown["label"]
    assert abs(float(got.max()) - shown["confidence"]) < 0.03
    # the temperature did something: a flatter answer than the raw head's
    assert got.max() < raw.max() - 0.01


def test_a_run_without_calibration_exports_its_raw_probabilities(clip):
    model = load_model(DEMO_MODEL_DIR)
    _, frames, feats = predict_with_frames(model, clip)
    small = np.stack([resize_frame(im, (224, 224)) for im in frames.images])
    got = np.asarray(export.frames_model(DEMO_MODEL_DIR)(small))
    np.testing.assert_allclose(got, model.predict_features(feats).clip_probs, atol=0.03)


def test_the_model_card_says_the_export_is_temperature_scaled(calibrated_run):
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(export.bundle_bytes(calibrated_run))) as zf:
        assert "temperature-scaled" in zf.read(export.CARD).decode()
