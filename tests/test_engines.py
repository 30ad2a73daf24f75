"""Backbone engines: Keras vs LiteRT equivalence, the conversion cache, the remembered
choice and its key, the VIDCORE_ENGINE override, and thread safety."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from tests.workspace_clips import demo_clip
from vidcore import doctor
from vidcore.data.sampling import UniformSampler
from vidcore.errors import InputError
from vidcore.features import FeatureSpec, backbone_runner
from vidcore.models import efficientnet_lite, engines, litert_cache
from vidcore.models import precision as precisions

pytest.importorskip("ai_edge_litert")
SPEC = FeatureSpec(sampler=UniformSampler(8))  # Lite0, ImageNet weights


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """A private weights folder (converted Lite0 weights copied in, no engine cache yet),
    so these tests never touch <repo>/weights/engines."""
    source = efficientnet_lite.imagenet_weights_path()
    folder = tmp_path_factory.mktemp("weights")
    for path in (source, source.with_name(source.name + ".json")):
        shutil.copy2(path, folder / path.name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(efficientnet_lite.WEIGHTS_DIR_ENV, str(folder))
        patch.delenv(engines.ENV_VAR, raising=False)
        patch.delenv(precisions.ENV_VAR, raising=False)
        yield folder


@pytest.fixture(scope="module")
def runners(weights_dir):
    """LiteRT (converting into the private folder) and Keras float32, folded."""
    return {"litert": backbone_runner(replace(SPEC, engine="litert")),
            "keras": backbone_runner(replace(SPEC, engine="keras", precision="float32"))}


def test_litert_features_equal_keras_float32(runners):
    frames = engines.guard_frames()
    lite, exact = runners["litert"](frames), runners["keras"](frames)
    assert runners["litert"].engine == "litert" and runners["litert"].precision == "float32"
    assert lite.dtype == np.float32 and lite.shape == exact.shape == (32, 1280)
    assert np.abs(exact).max() > 1.0  # real features, not zeros
    assert np.abs(lite - exact).max() < litert_cache.GUARD_MAX_ABS
    # a partial last chunk (padded inside) gives the same rows as a full one
    np.testing.assert_allclose(runners["litert"](frames[:3]), lite[:3], atol=1e-5)


def test_conversion_is_cached_and_rebuilt_when_damaged(runners, weights_dir, monkeypatch):
    weights_id = efficientnet_lite.sha256_file(efficientnet_lite.imagenet_weights_path())[:16]
    path = engines.converted_path(SPEC.backbone, weights_id)
    record = engines.cached_conversion(path, weights_id)
    assert record is not None and record["guard_max_abs_diff"] < litert_cache.GUARD_MAX_ABS
    calls = []
    real = litert_cache.convert
    monkeypatch.setattr(litert_cache, "convert", lambda *a: calls.append(a) or real(*a))
    engines.litert_runner(SPEC, 224, lambda: pytest.fail("a valid cache needs no model"))
    assert calls == []
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one flipped byte in the middle of the weights
    path.write_bytes(bytes(blob))
    assert engines.cached_conversion(path, weights_id) is None
    from vidcore.models.backbones import create_backbone

    rebuilt = engines.litert_runner(SPEC, 224, lambda: create_backbone(SPEC.backbone))
    assert len(calls) == 1 and engines.cached_conversion(path, weights_id) is not None
    frames = engines.guard_frames()[:4]
    assert np.abs(rebuilt(frames) - runners["keras"](frames)).max() < litert_cache.GUARD_MAX_ABS


def test_concurrent_calls_on_one_litert_runner_are_safe(runners):
    frames = engines.guard_frames()
    chunks = [frames[i:i + 5] for i in range(0, 30, 5)]
    alone = [runners["litert"](c) for c in chunks]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(runners["litert"], chunks * 2))
    for i, result in enumerate(together):
        np.testing.assert_array_equal(result, alone[i % len(chunks)])


def _fake_measure(figures: dict, calls: list):
    def measure(spec, pairs):
        calls.append([engines.label(p) for p in pairs])
        return {engines.label(p): figures[engines.label(p)] for p in pairs}, {}
    return measure


def test_choice_is_measured_once_remembered_and_keyed(weights_dir, monkeypatch):
    (weights_dir / "engines" / engines.CHOICES_FILE).unlink(missing_ok=True)
    calls = []
    monkeypatch.setattr(precisions, "cpu_has_bfloat16", lambda: False)
    monkeypatch.setattr(engines, "_measure", _fake_measure(
        {"keras float32": 46.0, "litert float32": 117.0}, calls))
    first = engines.choose(SPEC)
    assert (first.engine, first.precision, first.source) == ("litert", "float32", "measured")
    assert "litert float32 117 frames/s" in first.reason and calls == [
        ["keras float32", "litert float32"]]
    again = engines.choose(SPEC)
    assert (again.engine, again.source, len(calls)) == ("litert", "remembered", 1)
    assert SPEC.compute_precision() == "float32" and "__f32__" in SPEC.folder_name()
    # another CPU (or library version) is another key: measured anew
    monkeypatch.setattr(engines, "cpu_key", lambda: "another cpu|2 threads|avx2")
    assert engines.choose(SPEC).source == "measured" and len(calls) == 2
    assert len(engines.read_choices()) == 2
    # a damaged choices file reads as none: measured again, not an error
    (weights_dir / "engines" / engines.CHOICES_FILE).write_text("{not json")
    assert engines.choose(SPEC).source == "measured" and len(calls) == 3
    # with bfloat16 on the CPU, Keras bfloat16 is a candidate against LiteRT float32
    monkeypatch.setattr(precisions, "cpu_has_bfloat16", lambda: True)
    monkeypatch.setattr(engines, "_measure", _fake_measure(
        {"keras bfloat16": 250.0, "litert float32": 125.0}, calls))
    fast = engines.choose(SPEC)
    assert (fast.engine, fast.precision) == ("keras", "bfloat16") and calls[-1] == [
        "keras bfloat16", "litert float32"]
    assert doctor.engine_report()["engine"] == "keras"
    # bfloat16 by name is honoured, never measured against LiteRT float32
    monkeypatch.setattr(engines, "_measure", lambda *a: pytest.fail("bfloat16 by name measures"))
    asked = engines.choose(replace(SPEC, precision="bfloat16"))
    assert (asked.engine, asked.precision, asked.source) == ("keras", "bfloat16", "only")
    assert "bfloat16 asked for" in asked.reason


def test_override_and_bad_values(weights_dir, monkeypatch):
    monkeypatch.setattr(engines, "_measure", lambda *a: pytest.fail("an override measures"))
    monkeypatch.setenv(engines.ENV_VAR, "keras")
    keras = engines.choose(SPEC)
    assert (keras.engine, keras.source, keras.reason) == ("keras", "override",
                                                          "VIDCORE_ENGINE=keras")
    monkeypatch.setenv(engines.ENV_VAR, "litert")
    assert engines.choose(SPEC).engine == "litert"
    # a spec pinned by a Ray driver wins over the node's own environment
    assert engines.choose(replace(SPEC, engine="keras")).engine == "keras"
    with pytest.raises(InputError, match="computes in float32 only"):
        engines.choose(replace(SPEC, precision="bfloat16"))
    with pytest.raises(InputError, match="fixed weights"):
        engines.choose(replace(SPEC, weights=None))
    monkeypatch.setenv(engines.ENV_VAR, "tpu")
    with pytest.raises(InputError, match="VIDCORE_ENGINE='tpu' is not an engine.*keras"):
        engines.choose(SPEC)
    with pytest.raises(InputError, match="unknown engine 'gpu'"):
        engines.choose(replace(SPEC, engine="gpu"))
    monkeypatch.delenv(engines.ENV_VAR)
    random = engines.choose(replace(SPEC, weights=None))
    assert (random.engine, random.source) == ("keras", "only")


def test_pinned_spec_carries_the_engine(weights_dir, monkeypatch):
    monkeypatch.setenv(engines.ENV_VAR, "litert")
    pinned = SPEC.pinned()
    assert (pinned.engine, pinned.precision) == ("litert", "float32")
    assert FeatureSpec.from_dict(pinned.to_dict()) == pinned
    old = {k: v for k, v in SPEC.to_dict().items() if k != "engine"}
    assert FeatureSpec.from_dict(old).engine == "auto"  # configs written before engines


def test_demo_model_verdicts_agree_across_engines(runners, tmp_path, monkeypatch):
    from vidcore.predict import load_model, predict
    from vidcore.runs import DEMO_MODEL_DIR

    clips = [demo_clip(tmp_path / f"{c}.avi", c, 2) for c in ("SitDown", "StandUp", "Punch")]
    results = {}
    for engine in ("litert", "keras"):
        monkeypatch.setenv(engines.ENV_VAR, engine)
        monkeypatch.setenv(precisions.ENV_VAR, "float32")
        model = load_model(DEMO_MODEL_DIR)
        results[engine] = [predict(model, c) for c in clips]
        assert model.backbone().engine == engine
    for lite, keras in zip(results["litert"], results["keras"], strict=True):
        assert lite.temporal_label == keras.temporal_label
        np.testing.assert_allclose(lite.probabilities, keras.probabilities, atol=1e-3)


@pytest.mark.parametrize("command", ["predict", "extract"])
def test_cli_bad_engine_is_one_line(tmp_path, weights_dir, command):
    target = demo_clip(tmp_path / "clip.avi", "Punch", 2) if command == "predict" else tmp_path
    env = {**os.environ, engines.ENV_VAR: "fastest"}
    out = subprocess.run([sys.executable, "-m", "vidcore", command, str(target)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "VIDCORE_ENGINE='fastest' is not an engine" in lines[0], lines


def test_quick_start_is_litert_only_inside_its_context(runners, monkeypatch):
    monkeypatch.setattr(engines, "_measure", lambda *a: pytest.fail("quick start measured"))
    with engines.quick_start():  # the conversion is cached (the runners fixture made it)
        choice = engines.choose(SPEC)
    assert (choice.engine, choice.source) == ("litert", "quick start")
    monkeypatch.setenv(engines.ENV_VAR, "keras")
    with engines.quick_start():  # an override still wins
        assert engines.choose(SPEC).engine == "keras"
    monkeypatch.delenv(engines.ENV_VAR)
    # outside the context (a later extraction in the same process): the measured choice
    monkeypatch.setattr(engines, "_measure", lambda spec, pairs: (
        {engines.label(p): float(p[0] == "keras") for p in pairs}, {}))
    assert engines.choose(SPEC).source in ("measured", "remembered")
