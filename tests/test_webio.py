"""What the web app may open, where uploads land, and browser-playable previews."""

import io
import os

import numpy as np
import pytest

from tests.conftest import write_video
from vidcore import settings
from vidcore.errors import InputError, VideoReadError
from vidcore.views import webio


@pytest.fixture
def roots(tmp_path):
    allowed = tmp_path / "allowed"
    (allowed / "ds").mkdir(parents=True)
    (tmp_path / "secret").mkdir()
    return [allowed.resolve()], tmp_path


def test_dataset_path_inside_roots_is_resolved(roots):
    allowed, tmp = roots
    assert webio.check_dataset_path(str(tmp / "allowed" / "ds"), allowed) == allowed[0] / "ds"


@pytest.mark.parametrize("escape", ["secret", "allowed/ds/../../secret", "link"])
def test_dataset_path_cannot_leave_the_roots(roots, escape):
    allowed, tmp = roots
    os.symlink(tmp / "secret", tmp / "allowed" / "link")
    target = tmp / escape if escape != "link" else tmp / "allowed" / "link"
    with pytest.raises(InputError, match="outside the folders"):
        webio.check_dataset_path(str(target), allowed)


def test_dataset_path_without_roots_allows_any_existing_folder(roots, monkeypatch):
    monkeypatch.delenv(settings.DATA_ROOTS, raising=False)
    _, tmp = roots
    assert webio.check_dataset_path(str(tmp / "secret")) == (tmp / "secret").resolve()
    with pytest.raises(InputError, match="does not exist"):
        webio.check_dataset_path(str(tmp / "nope"))
    with pytest.raises(InputError, match="no dataset path"):
        webio.check_dataset_path("  ")


def test_data_roots_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.DATA_ROOTS, f"{tmp_path}{os.pathsep}{tmp_path}/b")
    assert settings.data_roots() == [tmp_path.resolve(), (tmp_path / "b").resolve()]


def test_upload_never_uses_the_file_name_as_a_path():
    with webio.saved_upload(b"data", "../../etc/evil name.MP4") as path:
        assert path.name == "upload.mp4" and path.read_bytes() == b"data"
        folder = path.parent
        assert folder.name.startswith("vidcore-upload-")
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert not folder.exists()


@pytest.mark.parametrize("name, data", [("clip.exe", b"x"), ("noext", b"x"), ("a.mp4", b"")])
def test_bad_uploads_are_refused(name, data):
    with pytest.raises(InputError), webio.saved_upload(data, name):
        pass


def _stream(data: bytes):
    import av

    with av.open(io.BytesIO(data)) as clip:
        stream = clip.streams.video[0]
        return stream.codec_context.name, stream.width, stream.height, stream.frames


def test_browser_clip_is_h264_mp4(tmp_path):
    data, mime = webio.browser_clip(write_video(tmp_path / "c.avi", 30, fourcc="XVID"))
    assert mime == "video/mp4" and data[4:8] == b"ftyp"  # an MP4 file
    assert _stream(data)[:3] == ("h264", 64, 48)


def test_browser_clip_falls_back_to_vp8_webm(tmp_path, monkeypatch):
    monkeypatch.setattr(webio, "BROWSER_CODECS", (("nonesuch", "mp4", "video/mp4", {}),
                                                  *webio.BROWSER_CODECS[1:]))
    data, mime = webio.browser_clip(write_video(tmp_path / "c.avi", 30, fourcc="XVID"))
    assert mime == "video/webm"
    assert data[:4] == b"\x1a\x45\xdf\xa3"  # EBML header of Matroska/WebM
    assert _stream(data)[0] == "vp8"


def test_browser_clip_falls_back_to_gif(tmp_path, monkeypatch):
    monkeypatch.setattr(webio, "BROWSER_CODECS", (("nonesuch", "webm", "video/webm", {}),))
    data, mime = webio.browser_clip(write_video(tmp_path / "c.avi", 10))
    assert mime == "image/gif" and data[:6] in (b"GIF89a", b"GIF87a")


def test_browser_clip_of_a_broken_file_says_so(tmp_path):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(VideoReadError):
        webio.browser_clip(bad)


def test_thumbnails_keep_the_aspect_ratio():
    images = np.zeros((3, 240, 320, 3), np.uint8)
    thumbs = webio.thumbnails(images, width=160)
    assert len(thumbs) == 3 and thumbs[0].shape == (120, 160, 3)
    assert webio.thumbnails(images[:, :60, :80], width=160)[0].shape == (60, 80, 3)  # as is
    # Frames at a backbone's square input get back the video's own 4:3 shape.
    square = np.zeros((2, 224, 224, 3), np.uint8)
    assert webio.thumbnails(square, width=160, aspect=320 / 240)[0].shape == (120, 160, 3)
