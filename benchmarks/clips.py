"""Real-length benchmark clips: rendered demo actions at UCF101's length and codecs.

The demo dataset's clips last 2-3.5 s; UCF101's average 7.2 s (about 180 frames), are
320x240 MPEG-4 Part 2 (XviD), and often have one keyframe per clip, so decoding cannot
skip ahead to the frames it keeps. These clips are drawn 6-9 s long from the demo
renderer (clips of one class and group back to back), a folder per class, in three
kinds taken in turn:

- ``xvid``: MPEG-4 Part 2 in AVI, 25 fps, a keyframe every 12 frames (as XviD writes);
- ``xvid1k``: the same with one keyframe per clip;
- ``h264``: H.264 in MP4 at 29.97 fps (a keyframe every 300 frames: one per clip).

Written with PyAV (a dev dependency) through ``vidcore.atomic``; generated once under
``data/bench-clips`` (git-ignored) and reused while the recipe is unchanged.

    .venv/bin/python benchmarks/clips.py [--count N]
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vidcore.atomic import replace_via_temp  # noqa: E402

DEFAULT_DIR = ROOT / "data" / "bench-clips"
DURATION_S = (6.0, 9.0)
RECIPE = 1  # bump when the clips change: the folder is regenerated
KINDS = {  # name: (codec, fps, keyframe interval, extension, bit rate)
    "xvid": ("mpeg4", Fraction(25), 12, ".avi", 600_000),
    "xvid1k": ("mpeg4", Fraction(25), 1000, ".avi", 600_000),
    "h264": ("libx264", Fraction(30000, 1001), 300, ".mp4", None),
}


def _frames(class_name: str, group: int, wanted: int) -> np.ndarray:
    """``wanted`` frames of one class and group: its demo clips back to back (RGB)."""
    from vidcore.data.demo import render_clip

    parts, clip = [], 1
    while sum(len(p) for p in parts) < wanted:
        parts.append(render_clip(class_name, group, clip))
        clip += 1
    return np.concatenate(parts)[:wanted]


def write_clip(path: Path, frames: np.ndarray, kind: str) -> Path:
    """Encode RGB ``frames`` as ``kind`` (see ``KINDS``) at ``path``, atomically."""
    import av

    codec, fps, gop, _, bit_rate = KINDS[kind]

    def encode(tmp: Path) -> None:
        with av.open(str(tmp), "w") as out:
            stream = out.add_stream(codec, rate=fps)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            stream.codec_context.gop_size = gop
            if bit_rate:
                stream.bit_rate = bit_rate
            for image in frames:
                out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            out.mux(stream.encode(None))

    replace_via_temp(path, encode)
    return path


def ensure_clips(count: int, folder: Path = DEFAULT_DIR, seed: int = 0) -> Path:
    """A folder per class of ``count`` real-length clips (generated when missing)."""
    from vidcore.data.demo import DEMO_CLASSES

    marker = folder / "clips.json"
    wanted = {"recipe": RECIPE, "count": count, "seed": seed}
    try:
        if json.loads(marker.read_text()) == wanted:
            return folder
    except (OSError, ValueError):
        pass
    rng = np.random.default_rng(seed)
    kinds = list(KINDS)
    for i in range(count):
        name = DEMO_CLASSES[i % len(DEMO_CLASSES)]
        group, kind = 1 + (i // len(DEMO_CLASSES)) % 25, kinds[i % len(kinds)]
        frames = _frames(name, group, round(rng.uniform(*DURATION_S) * KINDS[kind][1]))
        path = folder / name / f"{name}_g{group:02d}_c{i:03d}_{kind}{KINDS[kind][3]}"
        write_clip(path, frames, kind)
    replace_via_temp(marker, lambda tmp: tmp.write_text(json.dumps(wanted)))
    return folder


def describe() -> str:
    """One sentence on what the clips are, for reports."""
    return ("real-length clips rendered from the demo actions, 6-9 s, 320x240, in turn XviD "
            "AVI at 25 fps (a keyframe every 12 frames), XviD with one keyframe per clip, "
            "and H.264 MP4 at 29.97 fps (one keyframe per clip)")


def main() -> None:
    """Generate the clips and say where they are."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    print(ensure_clips(args.count, args.out))


if __name__ == "__main__":
    main()
