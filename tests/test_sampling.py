"""Sampler arithmetic: positions only, on described videos (no decoding needed)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vidcore.data.sampling import (
    FpsSampler,
    SegmentsSampler,
    UniformSampler,
    cap_note,
    create_sampler,
    describe,
    sampler_from_config,
)
from vidcore.data.video import VideoInfo
from vidcore.errors import InputError


def info(frames, fps=25.0):
    return VideoInfo("v.avi", frames, fps, 320, 240, "FMP4")


def test_fps_sampler_one_per_second():
    pos = FpsSampler(1.0).positions(info(250))
    assert list(pos.frame_ids) == [0, 25, 50, 75, 100, 125, 150, 175, 200, 225]
    np.testing.assert_allclose(pos.timestamps, np.arange(10))


def test_fps_sampler_2997_even_in_time():
    pos = FpsSampler(1.0).positions(info(300, 30000 / 1001))
    assert len(pos) == 10
    # the reference's id % floor(fps) drifts by 1/30 s per second; timestamps do not
    np.testing.assert_allclose(np.diff(pos.timestamps), 1.0, atol=1 / 29.97)
    assert list(pos.frame_ids[:3]) == [0, 30, 60]


def test_fps_sampler_subsecond_clip_yields_a_frame():
    assert list(FpsSampler(1.0).positions(info(7)).frame_ids) == [0]


def test_fps_sampler_cap_spreads_frames():
    pos = FpsSampler(1.0, max_frames=5).positions(info(25 * 600))
    assert len(pos) == 5
    assert pos.frame_ids[0] == 0 and pos.frame_ids[-1] == 599 * 25


def test_fps_sampler_records_when_its_cap_applies():
    capped = FpsSampler(rate=5.0, max_frames=10)
    pos = capped.positions(info(600))  # 24 s at 5 per second: 120 frames
    assert len(pos) == 10 and pos.uncapped == 120
    assert FpsSampler(rate=5.0).positions(info(600)).uncapped is None
    assert FpsSampler(rate=5.0, max_frames=120).positions(info(600)).uncapped is None
    assert UniformSampler(8).positions(info(600)).uncapped is None
    note = cap_note(capped, len(pos), pos.uncapped)
    assert "sampled 10 of the 120 frames that 5 per second would give" in note
    assert "max_frames=10" in note and "\n" not in note
    assert cap_note(capped, 10, None) is None


def test_fps_sampler_from_real_timestamps():
    times = np.array([0, 0.1, 0.2, 1.0, 1.02, 1.04, 1.9, 2.5, 3.01])
    pos = FpsSampler(1.0).positions_from_times(times)
    assert list(pos.frame_ids) == [0, 3, 6, 8]  # nearest to 0, 1, 2 and 3 s
    np.testing.assert_allclose(pos.timestamps, times[[0, 3, 6, 8]])
    capped = FpsSampler(1.0, max_frames=2).positions_from_times(times)
    assert list(capped.frame_ids) == [0, 8] and capped.uncapped == 4
    assert list(FpsSampler(1.0).positions_from_times(np.array([0.0])).frame_ids) == [0]


def test_uniform_always_k_repeating_when_short():
    assert list(UniformSampler(4).positions(info(2)).frame_ids) == [0, 0, 1, 1]
    assert list(UniformSampler(3).positions(info(101)).frame_ids) == [0, 50, 100]


def test_segments_centres_and_random():
    assert list(SegmentsSampler(4).positions(info(40)).frame_ids) == [5, 15, 25, 35]
    rng = np.random.default_rng(1)
    ids = SegmentsSampler(4, random=True).positions(info(40), rng).frame_ids
    assert all(10 * i <= x < 10 * (i + 1) for i, x in enumerate(ids))
    again = SegmentsSampler(4, random=True).positions(info(40), np.random.default_rng(1)).frame_ids
    assert list(ids) == list(again)


def test_factory_and_config_round_trip():
    s = create_sampler("uniform", frames=6, rate=None)
    assert sampler_from_config(s.config()) == s
    assert describe(s) == "uniform, 6 frames"
    with pytest.raises(InputError, match="fps, uniform, segments"):
        create_sampler("nope")
    with pytest.raises(InputError, match="takes frames"):
        create_sampler("uniform", rate=2)
    with pytest.raises(InputError, match="positive"):
        FpsSampler(0)


@settings(max_examples=200, deadline=None)
@given(frames=st.integers(1, 20000), fps=st.floats(1.0, 240.0), rate=st.floats(0.05, 30.0),
       cap=st.one_of(st.none(), st.integers(1, 64)))
def test_fps_sampler_properties(frames, fps, rate, cap):
    pos = FpsSampler(rate, cap).positions(info(frames, fps))
    ids = pos.frame_ids
    assert len(ids) >= 1 and (cap is None or len(ids) <= cap)
    assert ids.min() >= 0 and ids.max() < frames
    assert np.all(np.diff(ids) > 0)  # strictly increasing, no duplicates
    np.testing.assert_allclose(pos.timestamps, ids / fps)


@settings(max_examples=200, deadline=None)
@given(frames=st.integers(1, 5000), k=st.integers(1, 64), random=st.booleans(),
       seed=st.integers(0, 2**16))
def test_fixed_count_samplers_properties(frames, k, random, seed):
    for sampler in (UniformSampler(k), SegmentsSampler(k, random)):
        ids = sampler.positions(info(frames), np.random.default_rng(seed)).frame_ids
        assert len(ids) == k
        assert ids.min() >= 0 and ids.max() < frames
        assert np.all(np.diff(ids) >= 0)  # in temporal order
