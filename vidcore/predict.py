"""Predict the action of one video with a trained run.

``load_model(run_dir)`` (``vidcore.models.loading``, importable from here too) returns a
``TrainedModel`` that the app can cache and reuse
for many videos (it keeps its backbone once built). ``predict(model, video)`` samples
and embeds the video's frames and returns a ``Prediction``: per-frame top classes with
timestamps, the majority vote with its share, the mean-probability class, and the
temporal (or linear) head's own answer.

Per-frame probabilities exist for every head: the frame MLP is per-frame by nature,
the temporal head has a jointly trained per-frame output, and the linear head is
applied to single frames. So the app can chart predictions over time for any run.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from vidcore import features
from vidcore.data.sampling import cap_note
from vidcore.data.video import Frames, VideoInfo, probe
from vidcore.errors import InputError
from vidcore.evaluate import aggregate
from vidcore.models.loading import ModelOutput, TrainedModel, load_model
from vidcore.report import FramePrediction, Prediction
from vidcore.trust import run_trust

log = logging.getLogger(__name__)

# A run whose fps sampler has no cap (the reference preset: 1 fps, as the tutorial)
# would embed every second of a long upload: 600 VGG16 frames for a 10-minute clip,
# about 90 s here. Predictions cap such a sampler at this many frames, spread evenly
# over the clip, and say so (``Prediction.sampling_note``); shorter clips are untouched.
PREDICT_MAX_FRAMES = 120


def predict(model: TrainedModel | str | os.PathLike | None, video: str | os.PathLike,
            top_k: int = 5) -> Prediction:
    """Predict the action in one video.

    Args:
        model: a loaded model, a run directory, or None (active model, else demo model).
        video: the video file.
        top_k: classes listed per frame.

    Raises:
        InputError: the video is missing or cannot be decoded (``VideoReadError``).
        RunError: no usable model.
    """
    return predict_with_frames(model, video, top_k)[0]


def predict_with_frames(model: TrainedModel | str | os.PathLike | None,
                        video: str | os.PathLike, top_k: int = 5
                        ) -> tuple[Prediction, Frames, features.VideoFeatures]:
    """``predict``, also handing back the sampled frames as decoded and their features
    (what ``vidcore.explain`` needs to explain the same answer)."""
    path, info = check_video(video)
    if not isinstance(model, TrainedModel):
        model = load_model(model)
    spec = bounded_spec(model.feature_spec)
    frames, feats = features.video_features(path, spec, model=model.backbone(), info=info)
    output = model.predict_features(feats)
    prediction = make_prediction(model, output, str(path), top_k, frames.info.duration)
    prediction.uncapped_frames = frames.uncapped
    note = cap_note(spec.sampler, len(output.frame_ids), frames.uncapped)
    if note and spec != model.feature_spec:
        note += ("; the run's sampler has no cap, so predictions apply this one to keep "
                 "long clips quick")
    prediction.sampling_note = note
    familiarity = run_trust(model.run_dir).check(feats.features)
    if familiarity is not None:  # runs trained before familiarity.npz: nothing changes
        prediction = replace(prediction, **familiarity)
    return prediction, frames, feats


def bounded_spec(spec: features.FeatureSpec) -> features.FeatureSpec:
    """``spec`` with an uncapped ``max_frames`` sampler capped at ``PREDICT_MAX_FRAMES``."""
    sampler = spec.sampler
    if not hasattr(sampler, "max_frames") or sampler.max_frames is not None:
        return spec
    return replace(spec, sampler=replace(sampler, max_frames=PREDICT_MAX_FRAMES))


def check_video(video: str | os.PathLike) -> tuple[Path, VideoInfo]:
    """The video's path and probe once the cheap checks pass: it exists and OpenCV can
    probe it.

    Run before a model is loaded, so a wrong path or a file that is not a video is
    reported in a moment, before TensorFlow starts (seconds, and its start-up lines).

    Raises:
        InputError: the file is missing, or ``VideoReadError``: it is not a readable video.
    """
    path = Path(video).expanduser()
    if not path.is_file():
        raise InputError(f"video {path} does not exist; give the path of a video file")
    return path, probe(path)


def make_prediction(model: TrainedModel, output: ModelOutput, video: str, top_k: int = 5,
                    duration: float | None = None) -> Prediction:
    """Turn a model output into a ``Prediction`` (every aggregator of the head).

    Args:
        model: the model that produced ``output`` (for class names and head).
        output: its output for one video.
        video: the video's path, for the record.
        top_k: classes listed per frame.
        duration: the video's length in seconds, if known.
    """
    classes = list(model.classes)
    trust = run_trust(model.run_dir)
    answers = {name: _shown(aggregate(output, name), name, trust)
               for name in model.spec.aggregators}
    mode, mean, primary = answers["mode"], answers["mean"], answers[model.primary]
    temporal = answers.get("temporal")
    return Prediction(
        video=video, run_dir=str(model.run_dir), head=model.spec.name, classes=classes,
        frames=_frames(output, classes, top_k),
        probabilities=np.round(output.frame_probs.astype(float), 6).tolist(),
        label=classes[mode.label], vote_share=mode.confidence,
        mean_label=classes[mean.label], mean_confidence=mean.confidence,
        temporal_label=classes[temporal.label] if temporal else None,
        temporal_confidence=temporal.confidence if temporal else None,
        primary=model.primary, primary_label=classes[primary.label],
        primary_confidence=primary.confidence,
        aggregators={name: _answer(a, classes, top_k) for name, a in answers.items()},
        duration=duration,
    )


def _shown(agg, name: str, trust):
    """An answer as shown: its scores temperature-scaled where the run has a temperature
    (the ranking, and so the label, stay the same)."""
    scores = trust.scores(name, agg.scores)
    return replace(agg, scores=scores, confidence=float(scores[agg.label]))


def _frames(output: ModelOutput, classes: list[str], top_k: int) -> list[FramePrediction]:
    frames = []
    for t, fid, probs in zip(output.timestamps, output.frame_ids, output.frame_probs,
                             strict=True):
        best = np.argsort(-probs, kind="stable")[:top_k]
        frames.append(FramePrediction(float(t), int(fid), [(classes[i], float(probs[i]))
                                                           for i in best]))
    return frames


def _answer(agg, classes: list[str], top_k: int) -> dict:
    return {"label": classes[agg.label], "confidence": round(agg.confidence, 6),
            "top": [[classes[i], round(float(agg.scores[i]), 6)] for i in agg.ranking[:top_k]]}
