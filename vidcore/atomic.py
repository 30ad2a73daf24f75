"""Atomic file writes: the one way vidcore puts a file on disk.

A writer fills a temporary file in the target's own folder, which is then renamed
onto the target with ``os.replace`` (atomic on POSIX). Readers never see half a file,
and a crash or ``kill -9`` leaves at most a hidden temp file, never a torn target.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o644  # mkstemp makes 0600 files; vidcore's files are meant to be shared


def replace_via_temp(path: str | os.PathLike, write: Callable[[Path], None],
                     prefix: str | None = None) -> None:
    """Let ``write(temp_path)`` fill a temp file beside ``path``, then rename it into place.

    The temp name keeps ``path``'s suffixes (Keras picks its format from them).

    Args:
        path: the file to create or replace.
        write: fills the file at the path it is given.
        prefix: temp name prefix (default ``.<name>.``); always hidden.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = ".tmp" + "".join(path.suffixes[-2:])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix or f".{path.name}.",
                               suffix=suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_with(path: str | os.PathLike, write: Callable[[BinaryIO], None],
               prefix: str | None = None) -> None:
    """Atomically write ``path`` through ``write(binary_file_object)``."""

    def fill(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            write(f)

    replace_via_temp(path, fill, prefix)
