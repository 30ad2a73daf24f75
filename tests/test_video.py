"""probe and read_frames on generated videos with known content."""

import numpy as np
import pytest

from tests.conftest import WRAP, decoded_index, patch_avi_rate, write_video
from vidcore.data.sampling import FpsSampler, UniformSampler
from vidcore.data.video import is_video_file, probe, read_frames
from vidcore.errors import VideoReadError


def test_probe_reports_metadata(make_video):
    info = probe(make_video("a.avi", frames=50, fps=25))
    assert (info.frame_count, info.width, info.height) == (50, 64, 48)
    assert info.fps == pytest.approx(25)
    assert info.duration == pytest.approx(2.0)
    assert info.codec == "MJPG"
    assert not info.counted


def test_read_frames_returns_the_sampled_frames_in_rgb(make_video):
    frames = read_frames(make_video("a.avi", frames=50), UniformSampler(5))
    assert frames.images.shape == (5, 48, 64, 3) and frames.images.dtype == np.uint8
    assert [decoded_index(im) for im in frames.images] == list(frames.frame_ids)
    assert list(frames.frame_ids) == [0, 12, 24, 37, 49]
    np.testing.assert_allclose(frames.timestamps, frames.frame_ids / 25.0)


def test_read_frames_resizes(make_video):
    frames = read_frames(make_video(frames=10), UniformSampler(2), size=(32, 16))
    assert frames.images.shape == (2, 16, 32, 3)


def test_absurd_fps_metadata_falls_back_to_counting(make_video):
    path = patch_avi_rate(make_video("liar.avi", frames=50), 1, 1_000_000)
    info = probe(path)
    assert info.counted and info.frame_count == 50
    assert 0 < info.fps <= 1000
    frames = read_frames(path, UniformSampler(3), info=info)
    assert [decoded_index(im) for im in frames.images] == [0, 24, 49]


def test_truncated_file_returns_what_decodes(make_video, caplog):
    path = make_video("cut.avi", frames=60)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    frames = read_frames(path, UniformSampler(4))
    assert len(frames) == 4
    ids = [decoded_index(im) for im in frames.images]
    assert ids == list(frames.frame_ids)
    assert max(ids) < 40  # resampled over the frames that exist
    assert "frames decode" in caplog.text


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"this is text, not a video\n" * 20, "not a video"),
     (bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)), "")],
)
def test_unreadable_files_raise_typed_error(tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoReadError) as err:
        read_frames(path, FpsSampler())
    assert str(path) in str(err.value) and reason in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(VideoReadError, match="no such file"):
        probe(tmp_path / "nope.avi")


def test_2997_fps_clip_sampled_evenly_in_time(tmp_path):
    path = write_video(tmp_path / "ntsc.avi", frames=300, fps=30000 / 1001)
    frames = read_frames(path, FpsSampler(1.0))
    assert len(frames) == 10
    np.testing.assert_allclose(np.diff(frames.timestamps), 1.0, atol=0.02)
    assert [decoded_index(im) for im in frames.images] == [i % WRAP for i in frames.frame_ids]


def test_is_video_file():
    assert is_video_file("a/b.MP4") and is_video_file("x.webm") and not is_video_file("a.txt")


@pytest.mark.parametrize("fourcc", ["MJPG", "XVID"])
def test_long_video_seeks_to_far_frames_and_decodes_them_right(tmp_path, fourcc, monkeypatch):
    from vidcore.data import video

    path = write_video(tmp_path / "long.avi", frames=3000, fourcc=fourcc)
    grabs = []

    class Counting:
        def __init__(self, cap):
            self.cap = cap

        def grab(self):
            grabs.append(1)
            return self.cap.grab()

        def __getattr__(self, name):
            return getattr(self.cap, name)

    real_open = video.open_capture
    monkeypatch.setattr(video, "open_capture", lambda p: Counting(real_open(p)))
    ids = np.array([0, 750, 1500, 2249, 2999])
    sought = video._decode_file(path, ids, None, seek=True)
    assert len(grabs) < 100  # seeking: not the 3000 grabs of reading every frame
    in_order = video._decode_file(path, ids, None, seek=False)
    assert len(grabs) > 2999
    for i in ids:  # the same pixels, and the same timestamps, as decoding every frame
        np.testing.assert_array_equal(sought.images[i], in_order.images[i])
        assert sought.times[i] == pytest.approx(in_order.times[i]) == pytest.approx(i / 25)
    grabs.clear()
    frames = read_frames(path, UniformSampler(5))
    assert len(grabs) < 100  # constant frame rate: no pass over every frame's timestamp
    assert list(frames.frame_ids) == list(ids)
    if fourcc == "MJPG":  # intra-only: the written brightness survives exactly
        assert [decoded_index(im) for im in frames.images] == [i % WRAP for i in ids]
