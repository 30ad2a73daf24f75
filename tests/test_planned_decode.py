"""Decoding only what a sampler keeps (issue 24): the planned decoder gives OpenCV's
frames exactly or stands aside, and each kind of clip keeps the method measured cheaper."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from tests.videos import stripes_frame, write_phone_clip, write_vfr_video, write_video
from vidcore.data import planned_decode, video
from vidcore.data.sampling import UniformSampler

SIZE = (64, 48)


def write_h264(path, frames: int = 120, gop: int = 40, b_frames: int = 2):
    """An H.264 MP4 at 29.97 fps with B-frames and a keyframe every ``gop`` frames."""
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(30000, 1001))
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.options = {"g": str(gop), "bf": str(b_frames), "preset": "veryfast"}
        for i in range(frames):
            image = av.VideoFrame.from_ndarray(stripes_frame(i, SIZE), format="rgb24")
            out.mux(stream.encode(image))
        out.mux(stream.encode())
    return path


@pytest.fixture(params=["h264", "mjpg"])
def clip(request, tmp_path):
    if request.param == "h264":
        return write_h264(tmp_path / "b-frames.mp4")
    return write_video(tmp_path / "intra.avi", 90, fps=25.0, size=SIZE, fourcc="MJPG")


def _both(path, ids, size=(32, 24)):
    info = video.probe(path)
    return (planned_decode.decode_planned(path, ids, size, info, video.resize_frame),
            video._opencv_kept(path, ids, size, info))


@pytest.mark.parametrize("ids", [[0, 13, 26, 39, 52, 65, 78, 89], [5, 5, 41, 88], [89]])
def test_planned_frames_equal_opencvs_pixel_for_pixel(clip, ids):
    planned, reference = _both(clip, ids)
    assert planned is not None and set(planned) == set(ids)
    assert planned_decode._same(planned, reference)


def test_clips_it_cannot_number_exactly_are_left_to_opencv(tmp_path):
    vfr = write_vfr_video(tmp_path / "vfr.mp4", [i / 30 if i < 20 else 0.7 + (i - 20) / 10
                                                 for i in range(40)])
    rotated = write_phone_clip(tmp_path / "phone.mp4")
    for path in (vfr, rotated):
        planned, _ = _both(path, [0, 5, 10])
        assert planned is None, path


def test_read_frames_is_the_same_whichever_decoder(clip, monkeypatch):
    sampler = UniformSampler(8)
    monkeypatch.setenv("VIDCORE_DECODER", "opencv")
    opencv = video.read_frames(clip, sampler, (32, 24))
    monkeypatch.setenv("VIDCORE_DECODER", "planned")
    planned = video.read_frames(clip, sampler, (32, 24))
    assert np.array_equal(opencv.images, planned.images)
    assert np.array_equal(opencv.frame_ids, planned.frame_ids)
    assert np.allclose(opencv.timestamps, planned.timestamps)


def test_a_kind_keeps_the_method_its_trials_found_cheaper():
    choice = planned_decode.DecoderChoice(trials=2)
    assert choice.method(".mp4|h264") == "trial"
    choice.record(".mp4|h264", opencv_s=0.10, planned_s=0.04)
    choice.record(".mp4|h264", opencv_s=0.12, planned_s=0.05)
    choice.record(".avi|MJPG", opencv_s=0.02, planned_s=0.03)
    choice.record(".avi|MJPG", opencv_s=0.02, planned_s=0.03)
    assert choice.method(".mp4|h264") == "planned"
    assert choice.method(".avi|MJPG") == "opencv"
    assert choice.summary()[".mp4|h264"] == {"opencv": 110.0, "planned": 45.0}


def test_one_difference_sends_the_kind_to_opencv_for_good(clip):
    choice = planned_decode.DecoderChoice()
    info = video.probe(clip)
    ids = [0, 30, 60]
    real = video._opencv_kept(clip, ids, None, info)
    altered = {k: v.copy() for k, v in real.items()}
    altered[30][0, 0, 0] ^= 1
    got = planned_decode.read(clip, ids, None, info, video.resize_frame, lambda: altered,
                              choice)
    assert got is altered  # a trial returns OpenCV's own frames
    kind = planned_decode.clip_kind(clip, info)
    assert choice.method(kind) == "opencv" and choice.summary()[kind] == {"refused": True}


def test_trials_time_both_and_then_decode_planned(clip):
    choice = planned_decode.DecoderChoice(trials=1)
    info = video.probe(clip)
    calls = []

    def opencv():
        calls.append(1)
        return video._opencv_kept(clip, [3, 50], None, info)

    planned_decode.read(clip, [3, 50], None, info, video.resize_frame, opencv, choice)
    kind = planned_decode.clip_kind(clip, info)
    assert set(choice.summary()[kind]) == {"opencv", "planned"} and calls == [1]
    method = choice.method(kind)
    got = planned_decode.read(clip, [3, 50], None, info, video.resize_frame, opencv, choice)
    assert calls == [1]  # no second OpenCV pass: the caller reads itself when told None
    assert (got is None) == (method == "opencv")


def test_an_unknown_decoder_setting_is_refused_in_one_line(monkeypatch):
    from vidcore import settings
    from vidcore.errors import InputError

    monkeypatch.setenv("VIDCORE_DECODER", "ffmpeg")
    with pytest.raises(InputError, match="VIDCORE_DECODER='ffmpeg' is not a decoder"):
        settings.decoder()
