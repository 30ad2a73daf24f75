"""Variable-frame-rate clips: frames are picked, and stamped, by their real timestamps.

OpenCV cannot write such a clip, so PyAV (a test-only dependency) encodes one:
10 frames per second for two seconds, then 30 per second for two more. Frame i
shows its number in stripes, so a test reads back which frame it was given.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import stripes_index, write_vfr_video

from vidcore.cli import main
from vidcore.data.sampling import FpsSampler, UniformSampler
from vidcore.data.video import probe, read_frames

ROOT = Path(__file__).resolve().parents[1]
DEMO_MODEL = ROOT / "weights" / "demo_model"
TIMES = [i / 10 for i in range(20)] + [2 + i / 30 for i in range(60)]  # 80 frames, 4 s


def frame_at(t: float) -> int:
    """The frame of ``TIMES`` nearest to ``t`` seconds: what sampling at ``t`` must pick."""
    return int(np.argmin(np.abs(np.array(TIMES) - t)))


@pytest.fixture(params=["mp4", "mkv"])
def vfr_clip(tmp_path, request) -> Path:
    """The clip in MP4 (exact frame count) and Matroska (a frame count OpenCV estimates)."""
    return write_vfr_video(tmp_path / f"vfr.{request.param}", TIMES)


def test_the_clip_really_has_irregular_timestamps(vfr_clip):
    import av

    with av.open(str(vfr_clip)) as container:
        pts = [float(f.time) for f in container.decode(video=0)]
    cap = cv2.VideoCapture(str(vfr_clip))
    stamps = []
    while cap.grab():
        stamps.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000)
    cap.release()
    for times in (pts, stamps):  # as PyAV and as OpenCV read them
        assert len(times) == 80
        np.testing.assert_allclose(times, TIMES, atol=1e-3)
        steps = np.round(np.diff(times), 2)
        assert set(steps[:19]) == {0.1} and set(steps[20:]) == {0.03}
    # The container's one frame rate puts frame i at i / fps: wrong by far more than a frame.
    info = probe(vfr_clip)
    assert np.max(np.abs(np.arange(80) / info.fps - TIMES)) > 0.3


@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_fps_sampler_picks_one_frame_per_interval_of_real_time(vfr_clip, rate):
    frames = read_frames(vfr_clip, FpsSampler(rate=rate))
    targets = np.arange(math.ceil(4.0 * rate)) / rate  # 0, 1, 2, 3 s at 1 per second
    expected = [frame_at(t) for t in targets]  # at 1 fps: frames 0, 10, 20, 50
    assert [stripes_index(im) for im in frames.images] == expected
    assert list(frames.frame_ids) == expected
    np.testing.assert_allclose(frames.timestamps, targets, atol=2e-3)
    assert frames.info.frame_count == 80
    assert frames.info.duration == pytest.approx(4.0, abs=0.05)
    assert frames.uncapped is None


def test_fps_sampler_cap_on_a_vfr_clip_spreads_over_real_time(vfr_clip):
    frames = read_frames(vfr_clip, FpsSampler(rate=2.0, max_frames=3))
    assert frames.uncapped == 8  # 0, 0.5, ... 3.5 s
    assert [stripes_index(im) for im in frames.images] == [frame_at(t) for t in (0, 2, 3.5)]
    np.testing.assert_allclose(frames.timestamps, [0, 2, 3.5], atol=2e-3)


def test_uniform_sampler_keeps_its_frames_but_reports_their_real_times(vfr_clip):
    frames = read_frames(vfr_clip, UniformSampler(8))
    ids = list(np.round(np.linspace(0, 79, 8)).astype(int))  # evenly in frames, by design
    assert list(frames.frame_ids) == ids
    assert [stripes_index(im) for im in frames.images] == ids
    np.testing.assert_allclose(frames.timestamps, [TIMES[i] for i in ids], atol=2e-3)


def test_a_constant_rate_clip_is_sampled_as_before(tmp_path):
    clip = write_vfr_video(tmp_path / "cfr.mp4", [i / 25 for i in range(100)])
    frames = read_frames(clip, FpsSampler(rate=1.0))
    assert list(frames.frame_ids) == [0, 25, 50, 75]
    assert [stripes_index(im) for im in frames.images] == [0, 25, 50, 75]
    np.testing.assert_allclose(frames.timestamps, [0, 1, 2, 3], atol=0.5 / 25)
    assert not frames.info.counted  # metadata trusted: no pass over every timestamp


@pytest.mark.slow
def test_cli_predict_on_a_vfr_clip_samples_by_real_time(vfr_clip, tmp_path, capsys):
    """The shipped demo model, told to sample 1 frame per second, predicts the VFR clip."""
    assert (DEMO_MODEL / "model.keras").is_file(), "shipped demo model missing"
    run = Path(shutil.copytree(DEMO_MODEL, tmp_path / "run"))
    config = json.loads((run / "config.json").read_text())
    config["sampler"] = {"name": "fps", "rate": 1.0, "max_frames": None}
    (run / "config.json").write_text(json.dumps(config))
    assert main(["predict", str(vfr_clip), "--model", str(run), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["frame_id"] for f in data["frames"]] == [0, 10, 20, 50]
    assert [f["time"] for f in data["frames"]] == pytest.approx([0, 1, 2, 3], abs=2e-3)
    assert data["duration"] == pytest.approx(4.0, abs=0.05)
    assert data["label"] in data["classes"] and data["sampling_note"] is None
