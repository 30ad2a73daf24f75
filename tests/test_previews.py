"""Background previews: asking never waits, a finished preview is kept, a failure is retried."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import write_video
from vidcore.errors import VideoReadError
from vidcore.views.previews import Previews


def test_asking_returns_at_once_and_the_preview_comes_later(tmp_path):
    gate = threading.Event()
    made = []

    def slow(path):  # a transcode that takes as long as the test wants
        gate.wait(10)
        made.append(path)
        return b"webm", "video/webm"

    clip = write_video(tmp_path / "a.avi", 5)
    previews = Previews(slow)
    start = time.perf_counter()
    assert previews.get(clip) is None  # not made yet: no waiting
    assert previews.get(clip) is None
    assert time.perf_counter() - start < 1
    gate.set()
    previews.wait_idle(10)
    assert previews.get(clip) == (b"webm", "video/webm")
    assert made == [str(clip)]  # asked three times, made once


def test_a_real_clip_becomes_a_browser_video(tmp_path):
    clip = write_video(tmp_path / "b.avi", 10, size=(64, 48))
    previews = Previews()
    assert previews.get(clip) is None
    previews.wait_idle(60)
    data, mime = previews.get(clip)
    assert mime == "video/mp4" and len(data) > 100


def test_an_upload_is_converted_from_its_bytes_and_named_when_it_fails(tmp_path):
    made, gate = [], threading.Event()

    def convert(path):  # held until the first answer (None: not made yet) is checked
        gate.wait(10)
        made.append(path)
        return Path(path).read_bytes(), "v/x"

    clip = write_video(tmp_path / "d.avi", 5)
    previews = Previews(convert)
    data = clip.read_bytes()
    assert previews.get_upload("digest-1", data, "mine.avi") is None
    gate.set()
    previews.wait_idle(10)
    assert previews.get_upload("digest-1", data, "mine.avi") == (data, "v/x")
    assert len(made) == 1 and not os.path.exists(made[0])  # a private copy, deleted after
    real = Previews()
    assert real.get_upload("digest-2", b"junk" * 10, "broken.avi") is None
    real.wait_idle(60)
    with pytest.raises(VideoReadError, match=r"broken\.avi") as err:
        real.get_upload("digest-2", b"junk" * 10, "broken.avi")
    assert "vidcore-upload-" not in str(err.value)  # the user's name, not the temp path


def test_a_failure_is_reported_once_then_tried_again(tmp_path):
    gate, tries = threading.Event(), []

    def failing(path):  # fails like webio.browser_clip on a corrupt file, when let go
        tries.append(path)
        gate.wait(10)
        raise VideoReadError(path, "not a video OpenCV can open")

    clip = write_video(tmp_path / "c.avi", 3)
    previews = Previews(failing)
    assert previews.get(clip) is None
    gate.set()
    previews.wait_idle(10)
    with pytest.raises(VideoReadError, match="c.avi"):
        previews.get(clip)
    gate.clear()
    assert previews.get(clip) is None  # a failure is not kept: a new try runs
    gate.set()
    previews.wait_idle(10)
    assert len(tries) == 2


def test_a_changed_file_is_converted_again_and_old_ones_are_dropped(tmp_path):
    calls = []
    previews = Previews(lambda p: (calls.append(p) or p.encode(), "video/webm"), keep=2)
    clips = [write_video(tmp_path / f"{i}.avi", 3) for i in range(3)]
    for clip in clips:
        previews.get(clip)
        previews.wait_idle(10)
    assert len(previews._jobs) == 2  # the oldest finished preview was dropped
    clips[2].write_bytes(clips[0].read_bytes())  # a new version of the file
    os.utime(clips[2], ns=(1, 1))
    previews.get(clips[2])
    previews.wait_idle(10)
    assert calls.count(str(clips[2])) == 2


def test_clips_and_frames_travel_inside_the_page():
    """data: URLs (issue 28's /media 404s): the bytes come back out as they went in."""
    import base64

    import cv2
    import numpy as np

    from vidcore.views import webio

    url = webio.data_url(b"\x00mp4 bytes", "video/mp4")
    head, body = url.split(",", 1)
    assert head == "data:video/mp4;base64" and base64.b64decode(body) == b"\x00mp4 bytes"
    frame = np.zeros((30, 40, 3), np.uint8)
    frame[:, :20] = (250, 10, 10)  # red on the left (RGB), black on the right
    head, body = webio.jpeg_url(frame).split(",", 1)
    assert head == "data:image/jpeg;base64"
    back = cv2.imdecode(np.frombuffer(base64.b64decode(body), np.uint8), cv2.IMREAD_COLOR)
    assert back.shape == (30, 40, 3)
    assert back[15, 5, 2] > 200 and back[15, 5, 0] < 60  # still red (BGR after decoding)
    assert back[15, 35].max() < 30
