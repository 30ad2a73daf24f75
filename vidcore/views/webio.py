"""Files the web app handles for its users: dataset paths, uploads, browser-playable clips.

No Streamlit here: each function takes plain values and returns plain values, so the
rules (which folders a browser user may open, where an upload lands, which codec a
browser can play) are tested without a server.
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from vidcore import settings
from vidcore.data.video import open_capture
from vidcore.errors import InputError, VideoReadError

log = logging.getLogger(__name__)

UPLOAD_EXTENSIONS = ("mp4", "avi", "mov", "mkv", "webm")
# Chromium cannot play MPEG-4 Part 2 (XviD) AVI, UCF101's codec, so previews are
# re-encoded with PyAV (its wheel bundles FFmpeg with libx264 and libvpx): H.264 MP4 at
# x264's "ultrafast" preset first, which every browser plays and which costs a fraction of
# VP8's CPU (docs/app.md has the figures); VP8 WebM where a build lacks libx264. (OpenCV's
# own FFmpeg has no H.264 encoder, and its WebM writer logs a codec-tag warning per clip.)
BROWSER_CODECS = (
    ("libx264", "mp4", "video/mp4", {"preset": "ultrafast", "tune": "fastdecode"}),
    ("libvpx", "webm", "video/webm", {"deadline": "realtime", "cpu-used": "8"}),
)
MAX_PREVIEW_SECONDS = 30.0  # longer clips are cut: the preview is for a look, not a copy
MAX_PREVIEW_WIDTH = 480


def check_dataset_path(text: str, roots: list[Path] | None = None) -> Path:
    """Resolve a dataset path typed by a user and check that it may be opened.

    Symlinks and ``..`` are resolved before the check, so neither can step outside
    the allowed roots.

    Args:
        text: the path as typed (``~`` allowed).
        roots: allowed folders (default ``settings.data_roots()``: ``$VIDCORE_DATA_ROOTS``);
            empty allows any folder.

    Returns:
        The resolved path.

    Raises:
        InputError: empty text, a path that does not exist, or one outside the roots.
    """
    if not text or not text.strip():
        raise InputError("no dataset path given; type the path of a dataset folder or .csv file")
    roots = settings.data_roots() if roots is None else roots
    path = Path(text.strip()).expanduser().resolve()
    if roots and not any(path == r or path.is_relative_to(r) for r in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise InputError(f"{path} is outside the folders this server may open ({allowed}); "
                         "choose a dataset under one of them")
    if not path.exists():
        raise InputError(f"{path} does not exist; check the spelling or choose another folder")
    return path


def upload_suffix(file_name: str) -> str:
    """The extension an upload is saved with, from an allow-list (the name itself is never used).

    Raises:
        InputError: the extension is not one of ``UPLOAD_EXTENSIONS``.
    """
    ext = Path(file_name or "").suffix.lower().lstrip(".")
    if ext not in UPLOAD_EXTENSIONS:
        raise InputError(f"{file_name!r} is not a supported video file; upload one of: "
                         f"{', '.join(UPLOAD_EXTENSIONS)}")
    return f".{ext}"


@contextlib.contextmanager
def saved_upload(data: bytes, file_name: str) -> Iterator[Path]:
    """Write uploaded bytes to a private temporary folder; delete it afterwards.

    The file gets a fixed server-chosen name (``upload.<ext>``) inside a fresh
    ``mkdtemp`` folder (mode 0700), so a user's file name can never choose a path.

    Raises:
        InputError: unsupported extension or an empty upload.
    """
    suffix = upload_suffix(file_name)
    if not data:
        raise InputError(f"{file_name!r} is empty (0 bytes); upload the video again")
    folder = Path(tempfile.mkdtemp(prefix="vidcore-upload-"))
    try:
        path = folder / f"upload{suffix}"
        path.write_bytes(data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read_for_preview(path: Path) -> tuple[list[np.ndarray], float]:
    """BGR frames (downscaled, at most ``MAX_PREVIEW_SECONDS``) and the frame rate."""
    cap = open_capture(path)
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if 0 < fps < 1000 else 25.0
    frames: list[np.ndarray] = []
    try:
        while len(frames) < MAX_PREVIEW_SECONDS * fps:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(_shrink(frame))
    finally:
        cap.release()
    if not frames:
        raise VideoReadError(path, "no frame could be decoded")
    return frames, fps


def _shrink(frame: np.ndarray) -> np.ndarray:
    """Downscale wide frames; H.264 and VP8 in 4:2:0 also need even sides."""
    h, w = frame.shape[:2]
    scale = min(1.0, MAX_PREVIEW_WIDTH / w)
    size = (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))
    return frame if size == (w, h) else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _encode(frames: list[np.ndarray], fps: float, codec: str, container: str,
            options: dict) -> bytes | None:
    """Encode BGR frames with one of PyAV's codecs; None when this build cannot."""
    import av

    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=container) as out:
            stream = out.add_stream(codec, rate=max(1, round(fps)), options=options)
            stream.height, stream.width = frames[0].shape[:2]
            stream.pix_fmt = "yuv420p"
            for frame in frames:
                out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
            out.mux(stream.encode())
    except (av.FFmpegError, ValueError) as err:  # the codec is not in this build
        log.info("cannot encode %s previews here (%s)", codec, err)
        return None
    return buf.getvalue() or None


def _gif(frames: list[np.ndarray], fps: float) -> bytes:
    """Animated GIF fallback (every other frame, to keep it small)."""
    from PIL import Image

    images = [Image.fromarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)) for f in frames[::2]]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(2000 / fps), loop=0)
    return buf.getvalue()


def browser_clip(path: str | os.PathLike) -> tuple[bytes, str]:
    """A browser-playable copy of a video (any codec OpenCV decodes).

    Returns:
        ``(data, mime)``: H.264 MP4 (``video/mp4``), else VP8 WebM (``video/webm``),
        else an animated GIF (``image/gif``) to show as an image.

    Raises:
        VideoReadError: the video cannot be decoded.
    """
    frames, fps = _read_for_preview(Path(path))
    for codec, container, mime, options in BROWSER_CODECS:
        data = _encode(frames, fps, codec, container, options)
        if data:
            return data, mime
    log.warning("PyAV can encode neither H.264 nor VP8 here; previews fall back to GIF")
    return _gif(frames, fps), "image/gif"


def data_url(data: bytes, mime: str) -> str:
    """``data`` as a ``data:`` URL: a page element that carries its bytes itself.

    Why the app shows its clips and frames this way: Streamlit's media files live only
    as long as a script run draws them, and a run that a widget change interrupts drops
    every file it had not drawn yet, while the browser still shows the earlier run's
    elements until the next run redraws them. Every fetch such an element makes in that
    gap (a video's next range when played, an image re-mounted) is a 404 in the console
    (issue 28). A ``data:`` URL leaves nothing on the server to go missing.
    """
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def jpeg_url(image: np.ndarray, quality: int = 90) -> str:
    """An RGB uint8 frame as a JPEG ``data:`` URL (see ``data_url``)."""
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(image),
                                                    cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # cv2 encodes any non-empty uint8 image; this is a bug, say what it got
        raise ValueError(f"cannot encode a frame of shape {image.shape} as JPEG")
    return data_url(encoded.tobytes(), "image/jpeg")


def thumbnails(images: np.ndarray, width: int = 160,
               aspect: float | None = None) -> list[np.ndarray]:
    """RGB frames downscaled to ``width`` pixels wide, for frame strips.

    Args:
        images: the frames.
        width: the thumbnails' width.
        aspect: the video's own width / height, for frames resized to a backbone's
            square input (their own shape's when None).
    """
    out = []
    for image in images:
        h, w = image.shape[:2]
        shown_h = h if not aspect else w / aspect  # the height the video's shape gives
        size = (min(width, w), max(1, round(shown_h * min(width, w) / w)))
        keep = size == (w, h)
        out.append(image if keep else cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    return out
