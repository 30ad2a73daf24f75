"""What a probed video holds (a leaf module: sampling and decoding both need it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds, as far as decoding can tell.

    Attributes:
        path: the file.
        frame_count: number of frames (counted by decoding when the container lies).
        fps: frames per second (estimated when the container reports 0, NaN or absurd).
        width: frame width in pixels.
        height: frame height in pixels.
        codec: FourCC of the video stream, e.g. ``"FMP4"``.
        counted: True when ``frame_count`` or ``fps`` came from decoding, not metadata.
    """

    path: str
    frame_count: int
    fps: float
    width: int
    height: int
    codec: str
    counted: bool = False

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frame_count / self.fps if self.fps > 0 else 0.0

    def to_dict(self) -> dict:
        """Plain dict for JSON, duration included."""
        return {**self.__dict__, "duration": self.duration}
