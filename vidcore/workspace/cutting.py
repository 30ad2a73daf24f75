"""Cut one long video into clips of N seconds (optionally overlapping), all one group.

Pieces are cut on frame boundaries (``round(seconds * fps)`` frames each, a new one
every ``round((seconds - overlap) * fps)`` frames) while the source is decoded once,
front to back; a tail shorter than a piece is dropped and reported. Each piece is
re-encoded as XviD AVI, like the demo dataset, so every piece decodes on its own.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2

from vidcore.data.video import open_capture, probe
from vidcore.errors import InputError, VidcoreError
from vidcore.workspace.config import limits
from vidcore.workspace.store import Incoming
from vidcore.workspace.uploads import probe_info

FOURCC = "XVID"
MIN_SECONDS = 0.2


@dataclass(frozen=True)
class CutPlan:
    """How a video of ``frames`` frames at ``fps`` is cut.

    Attributes:
        piece_frames: frames per piece.
        step_frames: frames between the starts of two pieces.
        starts: first frame of every piece.
        fps: the source's frame rate.
        dropped_seconds: the tail too short for a piece.
    """

    piece_frames: int
    step_frames: int
    starts: tuple[int, ...]
    fps: float
    dropped_seconds: float


def plan_cut(frames: int, fps: float, seconds: float, overlap: float = 0.0,
             max_pieces: int | None = None) -> CutPlan:
    """The pieces of a cut, or an error saying which setting to change.

    Raises:
        InputError: a piece shorter than ``MIN_SECONDS``, an overlap not below the piece
            length, a video shorter than one piece, or more pieces than allowed.
    """
    if not seconds >= MIN_SECONDS:
        raise InputError(f"pieces must be at least {MIN_SECONDS} s long, got {seconds} s")
    if not 0 <= overlap < seconds:
        raise InputError(f"the overlap must be at least 0 and shorter than a piece "
                         f"({seconds} s), got {overlap} s")
    piece = max(1, round(seconds * fps))
    step = max(1, round((seconds - overlap) * fps))
    if frames < piece:
        raise InputError(f"the video is {frames / fps:.1f} s long, shorter than one piece of "
                         f"{seconds} s: choose shorter pieces")
    starts = tuple(range(0, frames - piece + 1, step))
    max_pieces = max_pieces or limits().cut_pieces
    if len(starts) > max_pieces:
        raise InputError(f"cutting into {seconds} s pieces makes {len(starts)} clips; at most "
                         f"{max_pieces} are allowed: choose longer pieces or less overlap")
    dropped = (frames - (starts[-1] + piece)) / fps
    return CutPlan(piece, step, starts, fps, round(dropped, 3))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _writer(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC), fps, size)
    if not writer.isOpened():
        raise VidcoreError(f"OpenCV cannot write {FOURCC} AVI files here; it needs FFmpeg")
    return writer


def _write_pieces(source: Path, folder: Path, plan: CutPlan) -> list[Path]:
    """Decode ``source`` once, writing each frame into every piece that holds it."""
    cap = open_capture(source)
    paths = [folder / f"{uuid.uuid4().hex}.avi" for _ in plan.starts]
    open_writers: dict[int, cv2.VideoWriter] = {}
    done: list[Path] = []
    starts = {s: k for k, s in enumerate(plan.starts)}
    i = 0
    try:
        while (i <= plan.starts[-1] + plan.piece_frames - 1) and (ok_frame := cap.read())[0]:
            frame = ok_frame[1]
            if i in starts:
                k = starts[i]
                open_writers[k] = _writer(paths[k], plan.fps, (frame.shape[1], frame.shape[0]))
            for k, writer in list(open_writers.items()):
                writer.write(frame)
                if i == plan.starts[k] + plan.piece_frames - 1:
                    writer.release()
                    done.append(paths[k])
                    del open_writers[k]
            i += 1
    finally:
        cap.release()
        for writer in open_writers.values():
            writer.release()
    return [p for p in paths if p in done]  # a container that overstated its frames


def cut_video(folder: Path, source: Path, name: str, seconds: float, overlap: float = 0.0,
              class_name: str | None = None) -> tuple[list[Incoming], CutPlan]:
    """Cut a staged video into pieces in ``folder``; each piece is probed.

    Args:
        folder: the staging folder (the pieces land here).
        source: the long video.
        name: its display name (the pieces are named after it).
        seconds: length of a piece.
        overlap: seconds two consecutive pieces share.
        class_name: the class the pieces are for.

    Returns:
        The pieces, all with the same group key (the source file's sha256: cutting the
        same recording again joins its group), and the plan used.
    """
    info = probe(source)
    plan = plan_cut(info.frame_count, info.fps, seconds, overlap)
    paths = _write_pieces(source, folder, plan)
    if not paths:
        raise InputError(f"{name}: no piece could be decoded from the video")
    key = f"sha:{_sha256(source)}"
    pieces = []
    for k, path in enumerate(paths):
        start = plan.starts[k] / plan.fps
        pieces.append(Incoming(
            path, f"{name} [{start:.1f}-{start + plan.piece_frames / plan.fps:.1f} s]", key,
            f"{name} (cut into pieces)", f"cut:{name}",
            probe_info(path),
            cut={"source": name, "start": round(start, 3),
                 "end": round(start + plan.piece_frames / plan.fps, 3),
                 "seconds": seconds, "overlap": overlap},
            class_name=class_name))
    return pieces, plan
