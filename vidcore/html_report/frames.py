"""Frames of example clips as ``data:`` URIs, so the report carries its own images."""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from vidcore.errors import VidcoreError

log = logging.getLogger(__name__)

FRAMES = 4  # frames shown per clip, evenly spaced
WIDTH = 112  # px: a strip of four fits beside the pair's figures
JPEG_QUALITY = 80  # ~4 kB a thumbnail: 10 pairs x 2 clips x 4 frames stay under 400 kB


def data_uri(image: np.ndarray) -> str:
    """An RGB uint8 image as a JPEG ``data:`` URI."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise VidcoreError("OpenCV could not encode a JPEG thumbnail")
    return "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")


def clip_frames(path: str | os.PathLike, count: int = FRAMES, width: int = WIDTH) -> list[str]:
    """``count`` evenly spaced frames of a clip as thumbnails; [] when it cannot be read
    (the report then says so rather than failing)."""
    from vidcore.data.sampling import UniformSampler
    from vidcore.data.video import read_frames
    from vidcore.views.webio import thumbnails

    if not Path(path).is_file():
        return []
    try:
        frames = read_frames(path, UniformSampler(count))
    except VidcoreError as err:
        log.warning("no frames of %s for the report: %s", path, err)
        return []
    return [data_uri(image) for image in thumbnails(frames.images, width)]
