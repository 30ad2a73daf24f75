"""Backbone precision: when bfloat16 is picked, and that it keeps Lite0's features."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vidcore.data.sampling import UniformSampler
from vidcore.errors import InputError
from vidcore.features import FeatureSpec, backbone_runner
from vidcore.models import precision

SIZE = 224


@pytest.fixture()
def bf16_cpu(monkeypatch):
    """Pretend the CPU has (True) or lacks (False) bfloat16 instructions."""
    def set_cpu(has: bool):
        monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: has)
    monkeypatch.delenv(precision.ENV_VAR, raising=False)
    return set_cpu


def test_cpuinfo_flags_are_read(tmp_path):
    with_bf16 = tmp_path / "with"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 fma\n")
    without = tmp_path / "without"
    without.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_vnni fma\n")
    assert precision.cpu_has_bfloat16(str(with_bf16))
    assert not precision.cpu_has_bfloat16(str(without))
    assert not precision.cpu_has_bfloat16(str(tmp_path / "missing"))


def test_auto_follows_the_cpu_and_the_backbone(bf16_cpu):
    bf16_cpu(True)
    assert precision.resolve("auto", bfloat16_tested=True) == "bfloat16"
    assert precision.resolve("auto", bfloat16_tested=False) == "float32"
    assert precision.resolve("float32", bfloat16_tested=True) == "float32"
    bf16_cpu(False)
    assert precision.resolve("auto", bfloat16_tested=True) == "float32"


def test_environment_overrides_auto(bf16_cpu, monkeypatch):
    bf16_cpu(True)
    monkeypatch.setenv(precision.ENV_VAR, "float32")
    assert precision.resolve("auto", bfloat16_tested=True) == "float32"
    monkeypatch.setenv(precision.ENV_VAR, "half")
    with pytest.raises(InputError, match="unknown precision 'half'"):
        precision.resolve("auto", bfloat16_tested=True)


def test_bfloat16_on_a_cpu_without_it_says_what_to_do(bf16_cpu):
    bf16_cpu(False)
    with pytest.raises(InputError, match="no bfloat16 instructions.*float32"):
        precision.resolve("bfloat16", bfloat16_tested=True)


def test_precisions_get_separate_store_folders(bf16_cpu):
    spec = FeatureSpec("efficientnet_lite0", None, UniformSampler(4))
    bf16_cpu(True)
    fast = spec.folder_name()
    bf16_cpu(False)
    exact = spec.folder_name()
    assert fast != exact and "__bf16__" in fast and "__f32__" in exact
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    old = {k: v for k, v in spec.to_dict().items() if k != "precision"}
    assert FeatureSpec.from_dict(old).precision == "auto"  # configs written before


def _photos() -> np.ndarray:
    data = pytest.importorskip("skimage.data")
    out = []
    for name in ("chelsea", "coffee", "astronaut", "rocket"):
        image = getattr(data, name)()
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        out.append(cv2.resize(image[top:top + side, left:left + side], (SIZE, SIZE),
                              interpolation=cv2.INTER_AREA))
    return np.stack(out)


@pytest.mark.skipif(not precision.cpu_has_bfloat16(), reason="this CPU has no bfloat16")
def test_bfloat16_lite0_keeps_features_and_imagenet_verdicts():
    from vidcore.models.backbones import create_backbone
    from vidcore.models.folding import inference_model

    photos = _photos()
    exact = backbone_runner(FeatureSpec(sampler=UniformSampler(4), precision="float32"))(photos)
    # bfloat16 by name runs in bfloat16 (whether "auto" picks it is measured per machine:
    # test_engines)
    fast_runner = backbone_runner(FeatureSpec(sampler=UniformSampler(4), precision="bfloat16"))
    assert (fast_runner.engine, fast_runner.precision) == ("keras", "bfloat16")
    fast = fast_runner(photos)
    assert fast.dtype == np.float32
    cosine = (fast * exact).sum(1) / np.linalg.norm(fast, axis=1) / np.linalg.norm(exact, axis=1)
    assert cosine.min() > 0.99, cosine
    classifier = create_backbone("efficientnet_lite0", include_classifier=True)
    logits = {p: np.asarray(inference_model(classifier, precision=p)(photos[:2]), np.float32)
              for p in ("float32", "bfloat16")}
    top1 = {p: v.argmax(1).tolist() for p, v in logits.items()}
    assert 281 <= top1["bfloat16"][0] <= 285, top1  # a cat
    assert top1["bfloat16"][1] in (504, 967, 968), top1  # mug, espresso, cup
    assert top1["bfloat16"] == top1["float32"], top1
