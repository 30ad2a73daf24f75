"""A small generated video dataset with planted faults, for the dataset-map tests.

Three classes of moving textures (stripes, checks, dots) that an ImageNet backbone
tells apart whatever their colours; a recording (group) fixes the colours and the
texture's scale, each clip of it its phase and drift. The CSV manifest sets groups
and splits explicitly (recordings 5 and 6 of each class are the test side). Planted:

* ``COPY``: test clip ``ORIGINAL`` re-encoded (MJPEG to MPEG-4 Part 2) and filed in
  training under a recording of its own;
* ``MISFILED``: the clips of one dots recording filed under "stripes".
"""

from __future__ import annotations

import zlib
from itertools import product
from pathlib import Path

import cv2
import numpy as np

CLASSES = ("checks", "dots", "stripes")
GROUPS, CLIPS, TEST_GROUPS = 6, 2, (5, 6)
SIZE, FRAMES = 96, 12
ORIGINAL = "dots/dots_g05_c01.avi"
COPY = "dots/dots_g90_c01.mp4"
MISFILED = ("stripes/dots_g91_c01.avi", "stripes/dots_g91_c02.avi", "stripes/dots_g91_c03.avi")


def _rng(*keys) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("/".join(map(str, keys)).encode()))


def texture(kind: str, group: int, clip: int, t: int) -> np.ndarray:
    """One BGR frame of a clip."""
    look = _rng(kind, group)
    fg, bg = look.integers(0, 256, 3), look.integers(0, 256, 3)
    period = int(look.integers(10, 20))
    phase = _rng(kind, group, clip).integers(0, period) + 2 * t
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    if kind == "stripes":
        mask = ((yy + phase) // (period // 2)) % 2 == 0
    elif kind == "checks":
        mask = (((yy + phase) // period) + (xx // period)) % 2 == 0
    else:
        cy = (yy + phase) % period - period / 2
        cx = xx % period - period / 2
        mask = cy ** 2 + cx ** 2 < (period / 3) ** 2
    image = np.where(mask[..., None], fg, bg).astype(np.uint8)
    noise = _rng(kind, group, clip, t).integers(-8, 9, image.shape)
    return np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)


def write_clip(path: Path, kind: str, group: int, clip: int) -> Path:
    """Write one MJPEG AVI clip of ``FRAMES`` frames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (SIZE, SIZE))
    assert writer.isOpened(), f"cannot write {path}"
    for t in range(FRAMES):
        writer.write(texture(kind, group, clip, t))
    writer.release()
    return path


def reencode(source: Path, target: Path) -> Path:
    """Decode ``source`` and write its frames again with MPEG-4 Part 2 (a re-upload)."""
    cap = cv2.VideoCapture(str(source))
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (SIZE, SIZE))
    ok, image = cap.read()
    while ok:
        writer.write(image)
        ok, image = cap.read()
    cap.release()
    writer.release()
    return target


def make_world(root: Path) -> Path:
    """Write the clips and ``manifest.csv``; return the manifest."""
    rows = ["path,label,group,split"]
    for kind, group, clip in product(CLASSES, range(1, GROUPS + 1), range(1, CLIPS + 1)):
        rel = write_clip(root / f"{kind}/{kind}_g{group:02d}_c{clip:02d}.avi", kind, group,
                         clip).relative_to(root).as_posix()
        rows.append(f"{rel},{kind},g{group:02d},{'test' if group in TEST_GROUPS else 'train'}")
    reencode(root / ORIGINAL, root / COPY)
    rows.append(f"{COPY},dots,g90,train")
    for clip, rel in enumerate(MISFILED, 1):
        write_clip(root / rel, "dots", 91, clip)
        rows.append(f"{rel},stripes,g91,train")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root / "manifest.csv"
