"""Explanations: Grad-CAM heatmaps and leave-one-frame-out contributions.

The shipped demo model (real Lite0 weights) on clips of the demo renderer, rendered
twice: as is, and with the figure not drawn (everything else, noise included, is the
same pixels). So the figure's region is known exactly, and removing the figure is an
exact occlusion. One ``Explainer`` for the whole module (building it takes seconds).
"""

from __future__ import annotations

import json
from unittest import mock

import cv2
import numpy as np
import pytest

from vidcore.data import demo
from vidcore.data import render as render_module
from vidcore.data.video import resize_frame
from vidcore.errors import InputError
from vidcore.evaluate import aggregate
from vidcore.features import VideoFeatures
from vidcore.models.heads import create_head, get_head
from vidcore.models.loading import TrainedModel
from vidcore.models.runtimes import FrameRuntime, LinearRuntime
from vidcore.models.scaling import Scaling
from vidcore.predict import load_model
from vidcore.runs import DEMO_MODEL_DIR

FRAMES = 8
PAD = 16  # pixels around the figure's box: a Grad-CAM cell of Lite0 is 32 px here
CLIPS = [("Punch", 2), ("Kick", 9), ("JumpingJack", 9), ("BodyWeightSquats", 2),
         ("SitDown", 9), ("JumpRope", 2)]


@pytest.fixture(scope="module")
def model():
    return load_model(DEMO_MODEL_DIR)


@pytest.fixture(scope="module")
def explainer(model):
    from vidcore.explain import Explainer

    return Explainer(model)


def render(name: str, group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8 uniformly sampled frames of a demo clip, the same frames without the figure,
    and their frame ids."""
    clip = demo.render_clip(name, group, 1, size="tiny")
    with mock.patch.object(render_module, "_draw_figure", lambda *args, **kwargs: None):
        empty = demo.render_clip(name, group, 1, size="tiny")
    ids = np.linspace(0, len(clip) - 1, FRAMES).round().astype(int)
    return clip[ids], empty[ids], ids


def embed(model, images: np.ndarray, ids: np.ndarray) -> VideoFeatures:
    """Features as ``predict`` computes them (the model's fast backbone)."""
    small = np.stack([resize_frame(im, (224, 224)) for im in images])
    return VideoFeatures(model.backbone()(small).astype(np.float16), ids / 25.0, ids)


def figure_boxes(images: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Per frame, the figure's bounding box (padded) as a boolean mask."""
    drawn = np.abs(images.astype(int) - empty.astype(int)).max(-1) > 0
    boxes = np.zeros_like(drawn)
    for box, mask in zip(boxes, drawn, strict=True):
        ys, xs = np.nonzero(mask)
        top, left = max(0, ys.min() - PAD), max(0, xs.min() - PAD)
        box[top:ys.max() + PAD + 1, left:xs.max() + PAD + 1] = 1
    return boxes


@pytest.fixture(scope="module")
def explained(model, explainer):
    """Each clip: frames, figure-free frames, features, explanation of the answer."""
    out = {}
    for name, group in CLIPS:
        images, empty, ids = render(name, group)
        feats = embed(model, images, ids)
        out[name] = (images, empty, ids, feats, explainer.explain(images, feats))
    return out


def test_heatmaps_are_frame_sized_maps_in_unit_range(explained):
    images, _, ids, _, result = explained["Punch"]
    assert result.heatmaps.shape == images.shape[:3]
    assert result.heatmaps.dtype == np.float32
    assert result.heatmaps.min() >= 0 and np.isclose(result.heatmaps.max(), 1.0)
    assert list(result.frame_ids) == list(ids)


def test_heatmap_mass_falls_mostly_on_the_moving_figure(explained):
    shares = []
    for name, (images, empty, _, _, result) in explained.items():
        assert result.class_name == name  # the demo model gets these clips right
        boxes = figure_boxes(images, empty)
        share = float((result.heatmaps * boxes).sum() / result.heatmaps.sum())
        # at least 1.6x the mass a map spread evenly over the frame would put there
        assert share > 1.6 * boxes.mean(), (name, share, boxes.mean())
        shares.append(share)
    assert np.mean(shares) > 0.55, shares


def test_occluding_the_figure_changes_the_verdict(model, explained):
    for name, (_, empty, ids, _, _) in explained.items():
        answer = aggregate(model.predict_features(embed(model, empty, ids)), model.primary)
        assert model.classes[answer.label] != name


def test_occluding_the_hot_region_costs_more_than_the_cold_region(model, explained):
    """Model-agnostic cross-check: paint the hottest fifth of each frame with the
    figure-free pixels, then the coldest fifth, and compare the class's score."""
    for name, (images, empty, ids, _, result) in explained.items():
        scores = {}
        for side, pick in (("hot", lambda h: h >= np.quantile(h, 0.8)),
                           ("cold", lambda h: h <= np.quantile(h, 0.2))):
            occluded = images.copy()
            for frame, heat, fill in zip(occluded, result.heatmaps, empty, strict=True):
                frame[pick(heat)] = fill[pick(heat)]
            output = model.predict_features(embed(model, occluded, ids))
            scores[side] = aggregate(output, model.primary).scores[result.label]
        assert scores["hot"] < scores["cold"] - 0.05, (name, scores)


def test_another_class_gets_its_own_maps_and_an_unknown_one_is_refused(explainer, explained):
    images, _, _, feats, result = explained["Kick"]
    other = explainer.explain(images, feats, "Punch")
    assert other.class_name == "Punch" and other.label != result.label
    assert other.score < 0.5 < result.score
    assert not np.allclose(other.heatmaps, result.heatmaps, atol=0.05)
    with pytest.raises(InputError, match="unknown class 'Dance'.*Kick"):
        explainer.explain(images, feats, "Dance")


def test_contributions_show_which_frames_carry_the_verdict(model, explained):
    """Four Kick frames then four Punch frames: for Kick the Kick frames contribute
    more than the Punch frames, and for Punch the other way round."""
    from vidcore.explain import contributions

    kick, punch = explained["Kick"][3], explained["Punch"][3]
    spliced = VideoFeatures(np.concatenate([kick.features[:4], punch.features[4:]]),
                            kick.timestamps, kick.frame_ids)
    for name, first_half_wins in (("Kick", True), ("Punch", False)):
        _, drops = contributions(model, spliced, model.classes.index(name))
        gap = drops[:4].mean() - drops[4:].mean()
        assert (gap > 0) == first_half_wins, (name, drops)


def test_a_sure_answer_still_shows_its_supporting_frames(explained):
    """Log-odds drops: clips the head is 99.9% sure of still get contributions that
    mostly support the answer, and shares whose absolute values sum to 1."""
    for name, (*_, result) in explained.items():
        assert result.contributions.sum() > 0, (name, result.contributions)
        assert np.abs(result.contributions).max() > 0.05, (name, result.contributions)
        assert np.abs(result.shares()).sum() == pytest.approx(1.0)
        assert result.ranking()[0] == int(np.argmax(result.contributions))


def frame_model(model) -> TrainedModel:
    """A per-frame MLP (random weights) on the demo model's features."""
    head = create_head("frame_mlp", 1280, len(model.classes))
    scaling = Scaling.fit("standard", np.random.default_rng(0).normal(size=(64, 1280)))
    config = {**model.config, "head": "frame_mlp"}
    return TrainedModel(model.run_dir, config, model.classes, get_head("frame_mlp"),
                        FrameRuntime(scaling, keras_model=head))


def test_per_frame_head_contributions_are_the_mean_rule_and_sum_to_zero(model, explained):
    from vidcore.explain import contributions

    frame = frame_model(model)
    feats = explained["Kick"][3]
    probs = frame.predict_features(feats).frame_probs[:, 3]
    full, drops = contributions(frame, feats, 3, log_odds=False)
    assert full == pytest.approx(probs.mean(), abs=1e-6)
    np.testing.assert_allclose(drops, (probs - probs.mean()) / (FRAMES - 1), atol=1e-6)
    assert abs(drops.sum()) < 1e-6


def test_per_frame_head_maps_depend_only_on_their_own_frame(model, explained):
    """Grad-CAM of a per-frame head uses each frame's own logit: swapping the other
    frames leaves a frame's map unchanged (a temporal head's maps would change)."""
    from vidcore.explain import Explainer

    explainer = Explainer(frame_model(model))
    kick, punch = explained["Kick"][0], explained["Punch"][0]
    mixed = np.concatenate([kick[:1], punch[1:]])
    np.testing.assert_allclose(explainer.heatmaps(kick[:4], 2)[0],
                               explainer.heatmaps(mixed[:4], 2)[0], atol=1e-4)


def test_cli_writes_overlays_and_raw_maps_and_reports_contributions(tmp_path, capsys, explained):
    from vidcore.cli import main

    images = explained["Kick"][0]
    video = tmp_path / "kick.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (320, 240))
    for image in demo.render_clip("Kick", 9, 1, size="tiny"):
        writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    writer.release()
    out = tmp_path / "why"
    assert main(["predict", str(video), "--explain", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    frames = data["explanation"]["frames"]
    assert data["explanation"]["class"] == data["primary_label"] == "Kick"
    assert len(frames) == len(data["frames"]) == FRAMES
    for frame in frames:
        heat = np.load(out / frame["heatmap"], allow_pickle=False)
        assert heat.shape == images.shape[1:3] and heat.dtype == np.float32
        assert heat.min() >= 0 and heat.max() <= 1
        png = cv2.imread(str(out / frame["overlay"]))
        assert png.shape == (*images.shape[1:3], 3)
        assert isinstance(frame["contribution"], float)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f["heatmap"] for f in frames] + [f["overlay"] for f in frames])


def test_cli_explain_class_needs_a_folder(tmp_path, capsys):
    from vidcore.cli import main

    assert main(["predict", str(tmp_path / "clip.avi"), "--explain-class", "Kick"]) == 2
    assert "--explain-class needs --explain DIR" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["vgg16", "mobilenet_v2"])
def test_keras_application_backbones_split_at_their_last_conv_map(name):
    """A flattened map (VGG16) and a nested core ending in pooling (MobileNetV2): the
    trunk gives the 7x7 map, and pooling it gives exactly the backbone's features."""
    from vidcore.explain import split_backbone
    from vidcore.models.backbones import create_backbone

    backbone = create_backbone(name, weights=None)
    trunk, pool = split_backbone(backbone)
    x = np.random.default_rng(0).integers(0, 256, (2, 224, 224, 3)).astype(np.float32)
    conv = trunk(x)
    assert tuple(conv.shape[:3]) == (2, 7, 7)
    np.testing.assert_allclose(np.asarray(pool(conv)), np.asarray(backbone(x)), atol=1e-5)


def linear_model(model) -> TrainedModel:
    """A linear head (random arrays) on the demo model's features."""
    from vidcore.models.linear import LinearHead

    rng = np.random.default_rng(1)
    classes = len(model.classes)
    head = LinearHead(rng.normal(0, 0.05, (classes, 1280)).astype(np.float32),
                      rng.normal(size=classes).astype(np.float32),
                      np.zeros(1280, np.float32), np.ones(1280, np.float32))
    return TrainedModel(model.run_dir, {**model.config, "head": "linear"}, model.classes,
                        get_head("linear"), LinearRuntime(head))


@pytest.mark.parametrize("kind", ["temporal", "frame", "linear"])
def test_the_gradient_graph_ends_in_the_heads_own_logits(model, explained, kind):
    """softmax of the graph's logits == the probabilities the head itself gives."""
    head = {"temporal": model, "frame": frame_model(model), "linear": linear_model(model)}[kind]
    feats = explained["Punch"][3]
    logits = np.asarray(head.runtime.logit_function()(feats.features.astype(np.float32)))
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    output = head.predict_features(feats)
    expected = output.frame_probs if kind == "frame" else output.clip_probs[None]
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_long_clips_are_explained_in_chunks_with_the_same_maps(explainer, explained,
                                                               monkeypatch):
    """16 frames in chunks of 8 (the others' features held constant) give the maps of
    one 16-frame gradient graph: the clip logit sees every frame either way."""
    from vidcore import explain

    images = np.concatenate([explained["Kick"][0], explained["Punch"][0]])
    label = explainer.model.classes.index("Kick")
    chunked = explainer.heatmaps(images, label)
    monkeypatch.setattr(explain, "CHUNK", 16)
    whole = explainer.heatmaps(images, label)
    np.testing.assert_allclose(chunked, whole, atol=2e-3)
    assert chunked.std() > 0.1  # real maps, not all zeros
