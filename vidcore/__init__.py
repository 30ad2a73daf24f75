"""vidcore: a video action-classification workbench (library; never imports streamlit)."""

import os as _os

__version__ = "0.1.0"


def _quiet_ffmpeg() -> None:
    """Keep FFmpeg's and OpenCV's native log lines off stderr (``VIDCORE_DEBUG`` keeps them).

    OpenCV's FFmpeg backend prints lines such as ``[mov,mp4,...] moov atom not found``
    for every damaged file it opens, straight from C code, before vidcore can say in one
    line what is wrong. Both variables are read when OpenCV first opens a video, which is
    after this package is imported; a value the user set wins.
    """
    if _os.environ.get("VIDCORE_DEBUG"):
        return
    _os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    _os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # OpenCV's own backend warnings


_quiet_ffmpeg()
